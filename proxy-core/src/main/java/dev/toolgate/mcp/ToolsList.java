package dev.toolgate.mcp;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * What an MCP server answers to the agent's {@code tools/list} requests: a digest of every tool definition seen
 * (so a definition that changes under the agent, a "rug pull", shows in the audit) and, when the route asks for
 * it, the same answer with only the tools the task may call (so the agent's model never sees the others).
 *
 * <p>Made per exchange for the ids of the {@code tools/list} requests it forwarded; fed every JSON-RPC message (or
 * batch) the server sends back on that exchange. Messages that answer none of those ids are left alone.
 * Not thread-safe: one exchange, one thread.
 */
public final class ToolsList {
    private static final ObjectMapper JSON;

    static {
        StreamReadConstraints limits = StreamReadConstraints.builder()
                .maxNestingDepth(McpParser.DEFAULT_MAX_DEPTH * 2)
                .maxNumberLength(McpParser.MAX_NUMBER_CHARS)
                .build();
        JSON = JsonMapper.builder(JsonFactory.builder().streamReadConstraints(limits)
                        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
                .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                // What follows the first value could be what another parser reads: the text is unreadable.
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .build();
    }

    private final Set<String> pending;
    private final Predicate<String> visible;
    private final Map<String, String> digests = new TreeMap<>();
    private int hidden;

    private ToolsList(Set<String> pending, Predicate<String> visible) {
        this.pending = pending;
        this.visible = visible;
    }

    /**
     * Watches the answers to the {@code tools/list} requests of {@code request}, or returns null when it has none.
     *
     * @param visible which tool names the agent may see; null to leave the answers as they are (digests only)
     */
    public static ToolsList watching(McpRequest request, Predicate<String> visible) {
        requireNonNull(request, "request");
        Set<String> ids = new HashSet<>();
        for (McpMessage m : request.messages()) {
            if ("tools/list".equals(m.method()) && m.id() != null) {
                ids.add(m.id().toString()); // 1 and "1" are different ids, and stay so
            }
        }
        return ids.isEmpty() ? null : new ToolsList(ids, visible);
    }

    /** Whether the answers are filtered (not only recorded). */
    public boolean filters() {
        return visible != null;
    }

    /** Whether every watched request has been answered (what the server sends after needs no look). */
    public boolean done() {
        return pending.isEmpty();
    }

    /** Tool name to hex SHA-256 of its definition in canonical JSON, for every tool seen so far, by name. */
    public Map<String, String> digests() {
        return Collections.unmodifiableMap(digests);
    }

    /** How many tools were taken out of the answers. */
    public int hidden() {
        return hidden;
    }

    /**
     * Looks at one JSON text the server sent (a JSON-RPC message or a batch of them).
     *
     * @return the text to send the agent instead, or null to send the original unchanged
     * @throws IOException if the text is not one JSON value the parser accepts (none, two, duplicate keys); a
     *                     filtering caller must then not pass the text on (it could list tools the agent may not
     *                     see)
     */
    public byte[] inspect(byte[] json, int offset, int length) throws IOException {
        JsonNode root = JSON.readTree(json, offset, length);
        if (root == null || root.isMissingNode()) {
            throw new IOException("no JSON value");
        }
        boolean changed = false;
        if (root.isArray()) {
            for (JsonNode m : root) {
                changed |= answer(m);
            }
        } else {
            changed = answer(root);
        }
        return changed ? JSON.writeValueAsBytes(root) : null;
    }

    /** Records (and filters) one message if it answers a watched request; true when it was changed. */
    private boolean answer(JsonNode message) {
        JsonNode id = message.get("id");
        if (id == null || !pending.remove(id.toString())) {
            return false;
        }
        JsonNode tools = message.path("result").get("tools");
        if (!(tools instanceof ArrayNode list)) {
            return false; // an error answer, or no tools: nothing to record or hide
        }
        ArrayNode kept = list.arrayNode();
        for (JsonNode tool : list) {
            JsonNode name = tool.get("name");
            boolean named = tool.isObject() && name != null && name.isTextual();
            if (named) {
                digests.put(name.textValue(), CanonicalJson.sha256(tool));
            }
            if (visible == null || named && visible.test(name.textValue())) {
                kept.add(tool);
            } else {
                hidden++; // a tool without a name cannot be granted, so it is never shown
            }
        }
        if (visible == null || kept.size() == list.size()) {
            return false;
        }
        ((ObjectNode) message.get("result")).set("tools", kept);
        return true;
    }

    /**
     * The outcome record's reason for the answer this watched: {@code reason} (if any), then how many tools it
     * listed and hid, which definitions changed since the route's server last listed them ({@code changed}), and
     * {@code note} (if any).
     */
    public String describe(String reason, List<String> changed, String note) {
        StringBuilder sb = new StringBuilder(reason == null ? "" : reason + "; ");
        sb.append("tools/list: ").append(digests().size()).append(" tools");
        if (filters()) {
            sb.append(", ").append(hidden()).append(" hidden");
        }
        if (!changed.isEmpty()) {
            sb.append("; definition changed since last listed: ").append(String.join(", ", changed));
        }
        if (note != null) {
            sb.append("; ").append(note);
        }
        return sb.toString();
    }
}
