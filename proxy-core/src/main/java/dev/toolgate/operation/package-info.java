/**
 * Operation patterns, the one way grants and policy rules say which calls they cover:
 * {@link dev.toolgate.operation.OperationPattern} parses {@code METHOD /path} (with {@code *} and a final
 * {@code **}), {@code grpc:package.Service/Method} and the {@code mcp:...} forms, matches them against the operation
 * string of a call and answers the subset relation ({@code within}) that keeps a grant inside a policy rule and a
 * delegated grant inside its parent's.
 *
 * <p>Nearly a leaf: it depends only on {@code dev.toolgate.common} (a pattern's {@link dev.toolgate.common.Protocol}),
 * so {@code dev.toolgate.grant} and {@code dev.toolgate.policy} both use it without depending on each other in a
 * loop. Pure: immutable values, no I/O, no time.
 */
package dev.toolgate.operation;
