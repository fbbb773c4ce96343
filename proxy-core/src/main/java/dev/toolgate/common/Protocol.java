package dev.toolgate.common;

import static java.util.Objects.requireNonNull;

/**
 * How calls on a route are understood: plain HTTP, gRPC, or MCP (JSON-RPC over Streamable HTTP). Each protocol has
 * one name, written in route configuration ({@code protocol: mcp}) and in the {@code protocol} field of audit
 * records; {@link #parse} is the only way from such a name back to a protocol.
 *
 * <p>Immutable and thread-safe.
 */
public enum Protocol {
    /** Plain HTTP: a call's operation is {@code METHOD /path}. */
    HTTP("http"),
    /** gRPC over HTTP/2: a call's operation is {@code grpc:package.Service/Method}. */
    GRPC("grpc"),
    /** MCP over Streamable HTTP: a call's operations are those of its JSON-RPC messages, {@code mcp:...}. */
    MCP("mcp");

    /** The longest part of a refused name an error message repeats. */
    private static final int MAX_QUOTED = 64;

    private final String configName;

    Protocol(String configName) {
        this.configName = configName;
    }

    /** The name in configuration and audit records: {@code http}, {@code grpc} or {@code mcp}. */
    public String configName() {
        return configName;
    }

    /**
     * The protocol named {@code name} as configuration writes it (lower case, exactly).
     *
     * @throws NullPointerException     when {@code name} is null
     * @throws IllegalArgumentException for any other name; the message repeats it (cut, control characters
     *                                  escaped) and lists the names expected
     */
    public static Protocol parse(String name) {
        requireNonNull(name, "name");
        for (Protocol p : values()) {
            if (p.configName.equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown protocol " + quote(name) + " (expected: http, grpc or mcp)");
    }

    /** The {@link #configName()}, so messages that concatenate a protocol read as configuration does. */
    @Override
    public String toString() {
        return configName;
    }

    /** {@code name} in double quotes, safe to log: at most {@link #MAX_QUOTED} characters, controls escaped. */
    private static String quote(String name) {
        StringBuilder sb = new StringBuilder(Math.min(name.length(), MAX_QUOTED) + 8).append('"');
        for (int i = 0; i < name.length() && i < MAX_QUOTED; i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || Character.isSurrogate(c)
                    || Character.getType(c) == Character.FORMAT) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        if (name.length() > MAX_QUOTED) {
            sb.append("...");
        }
        return sb.append('"').toString();
    }
}
