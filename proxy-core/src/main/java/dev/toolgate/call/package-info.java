/**
 * Turning a request into a {@code Call}: the route it is for, its protocol and its normalized
 * operation (HTTP method and path, gRPC service and method, MCP JSON-RPC method, tool name and
 * arguments). Authorization decides on the {@code Call}, never on the raw request.
 *
 * <p>The first piece is {@link dev.toolgate.call.PathNormalizer}: the path it produces is both
 * what grants are matched against and what is forwarded upstream, so an upstream can never be
 * sent a path that means something other than what was authorized.
 *
 * <p>{@link dev.toolgate.call.McpParser} reads an MCP POST body (JSON-RPC 2.0, one message or a
 * batch) into {@link dev.toolgate.call.McpMessage}s, each with the operation grants are matched
 * against ({@code mcp:tools/call:<tool>} and so on). It refuses whatever two JSON parsers could
 * read differently (duplicate keys, trailing data, non-UTF-8) instead of choosing a reading, and
 * never re-serializes: the bytes authorized are the bytes forwarded.
 */
package dev.toolgate.call;
