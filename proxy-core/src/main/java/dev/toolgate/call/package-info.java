/**
 * Turning a request into a {@code Call}: the route it is for, its protocol and its normalized
 * operation (HTTP method and path, gRPC service and method, MCP JSON-RPC method, tool name and
 * arguments). Authorization decides on the {@code Call}, never on the raw request.
 *
 * <p>The first piece is {@link dev.toolgate.call.PathNormalizer}: the path it produces is both
 * what grants are matched against and what is forwarded upstream, so an upstream can never be
 * sent a path that means something other than what was authorized.
 *
 * <p>MCP bodies are parsed in {@code dev.toolgate.mcp}; a {@code Call} carries the one JSON-RPC message it
 * judges.
 */
package dev.toolgate.call;
