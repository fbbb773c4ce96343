/**
 * The Model Context Protocol as the sidecar understands it: JSON-RPC bodies of an MCP POST parsed into messages
 * with their {@code mcp:...} operations ({@link dev.toolgate.mcp.McpParser}), the canonical JSON behind argument
 * and tool digests, the {@code tools/list} answer (its digests and filtering, and its JSON or event-stream body
 * read and rewritten as it streams: {@link dev.toolgate.mcp.ToolsListRewriter}), which session belongs to which
 * agent and task ({@link dev.toolgate.mcp.McpSessions}), which tool definitions changed since last listed
 * ({@link dev.toolgate.mcp.McpToolDigests}), and the sidecar's own JSON-RPC answers. No Netty types here.
 */
package dev.toolgate.mcp;
