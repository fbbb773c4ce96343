package dev.toolgate.mcp;

import static dev.toolgate.mcp.McpParseException.INVALID_REQUEST;
import static dev.toolgate.mcp.McpParseException.PARSE_ERROR;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Parses the body of an MCP POST (JSON-RPC 2.0 over streamable HTTP) into an {@link McpRequest}:
 * the operations the authorizer decides on. Everything a parser elsewhere (the upstream MCP
 * server) could read differently is refused rather than guessed at: duplicate keys anywhere
 * (one parser keeps the first {@code name}, another the last), trailing data after the value,
 * byte order marks and UTF-16/32 bodies, raw control characters in strings, comments and the
 * other JSON extensions, and names that carry control or format characters (an attack on log and
 * audit output, not a real tool). Any bad message in a batch refuses the whole body.
 *
 * <p>The parser never re-serializes: the caller forwards the original bytes it authorized.
 *
 * <p>Cost: one pass over the body with Jackson's UTF-8 parser building a tree (roughly the body's
 * size again in short-lived objects: a node per value and the decoded strings), then a walk over
 * the top-level keys of each message. Nothing is parsed twice and {@code arguments} is the
 * parsed subtree itself, not a copy. Limits are checked while parsing, so a hostile body costs
 * at most its size: it is refused at the first key repeated, level too deep, string too long.
 *
 * <p>Immutable and thread-safe; build one per configuration and share it.
 */
public final class McpParser {

    /** Default largest body: 1 MiB. */
    public static final int DEFAULT_MAX_BYTES = 1 << 20;
    /** Default deepest nesting of arrays and objects, counted from the body's outer value. */
    public static final int DEFAULT_MAX_DEPTH = 32;
    /** Default longest string (value or key) in characters: 256 Ki. */
    public static final int DEFAULT_MAX_STRING_CHARS = 256 << 10;
    /** Default most messages in one batch. */
    public static final int DEFAULT_MAX_BATCH = 64;
    /** Longest number literal: no MCP value needs more, and huge ones are a CPU hazard downstream. */
    public static final int MAX_NUMBER_CHARS = 100;

    private final int maxBytes;
    private final int maxDepth;
    private final int maxStringChars;
    private final int maxBatch;
    private final JsonFactory factory;
    private final ObjectMapper mapper;

    /** A parser with the default limits. */
    public McpParser() {
        this(DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_STRING_CHARS, DEFAULT_MAX_BATCH);
    }

    /** A parser with the given limits and the default batch size. */
    public McpParser(int maxBytes, int maxDepth, int maxStringChars) {
        this(maxBytes, maxDepth, maxStringChars, DEFAULT_MAX_BATCH);
    }

    /**
     * A parser with the given limits.
     *
     * @param maxBytes       largest body accepted, in bytes
     * @param maxDepth       deepest nesting of arrays and objects accepted ({@code {}} is 1; a batch
     *                       adds one level)
     * @param maxStringChars longest string value or object key accepted, in characters
     * @param maxBatch       most messages in one batch
     * @throws IllegalArgumentException if a limit is not positive
     */
    public McpParser(int maxBytes, int maxDepth, int maxStringChars, int maxBatch) {
        this.maxBatch = positive(maxBatch, "maxBatch");
        this.maxBytes = positive(maxBytes, "maxBytes");
        this.maxDepth = positive(maxDepth, "maxDepth");
        this.maxStringChars = positive(maxStringChars, "maxStringChars");
        StreamReadConstraints constraints = StreamReadConstraints.builder()
                .maxNestingDepth(maxDepth)
                .maxStringLength(maxStringChars)
                .maxNameLength(maxStringChars)
                .maxNumberLength(MAX_NUMBER_CHARS)
                .maxDocumentLength(maxBytes)
                .build();
        // Jackson's JSON defaults are already strict (no comments, single quotes, NaN, leading
        // zeros, unescaped control characters); what is enabled here is stricter still.
        factory = JsonFactory.builder()
                .streamReadConstraints(constraints)
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
                .build();
        mapper = JsonMapper.builder(factory)
                .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                .build();
    }

    /** The largest body this parser accepts, in bytes (the data plane collects no more than this). */
    public int maxBytes() {
        return maxBytes;
    }

    private static int positive(int value, String name) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
        }
        return value;
    }

    /**
     * Parses one MCP POST body.
     *
     * @param body   the buffer holding the body (not modified, not retained)
     * @param offset where the body starts in {@code body}
     * @param length the body's length in bytes
     * @return the messages of the body, in order
     * @throws McpParseException        if the body is refused: {@code -32700} when it is not JSON
     *                                  (or has data after the value), {@code -32600} when it is not
     *                                  a valid JSON-RPC request or breaks a limit, {@code -32602}
     *                                  when a method's params are invalid; the reason says which
     * @throws NullPointerException     if {@code body} is null
     * @throws IndexOutOfBoundsException if {@code offset} and {@code length} are outside {@code body}
     */
    public McpRequest parse(byte[] body, int offset, int length) throws McpParseException {
        requireNonNull(body, "body");
        Objects.checkFromIndexSize(offset, length, body.length);
        if (length > maxBytes) {
            throw new McpParseException(INVALID_REQUEST,
                    "body of " + length + " bytes is larger than the limit of " + maxBytes
                            + " bytes (the route's mcp.limits.maxBodyBytes)", null);
        }
        checkEncoding(body, offset, length);
        JsonNode root = readTree(body, offset, length);
        if (root.isObject()) {
            return new McpRequest(List.of(McpMessageReader.read(root, null)), false);
        }
        if (!root.isArray()) {
            throw new McpParseException(INVALID_REQUEST, "the body is JSON " + kind(root)
                    + " (expected: a JSON-RPC request object or a batch array of them)", null);
        }
        if (root.isEmpty()) {
            throw new McpParseException(INVALID_REQUEST, "empty batch (expected: at least one request)", null);
        }
        if (root.size() > maxBatch) {
            throw new McpParseException(INVALID_REQUEST, "a batch of " + root.size() + " messages (expected: at most "
                    + maxBatch + ", the route's mcp.limits.maxBatch)", null);
        }
        List<McpMessage> messages = new ArrayList<>(root.size());
        for (int i = 0; i < root.size(); i++) {
            messages.add(McpMessageReader.read(root.get(i), "batch[" + i + "]: "));
        }
        return new McpRequest(messages, true);
    }

    /**
     * Whether a {@code Content-Type} value is JSON as MCP's streamable HTTP transport sends it:
     * {@code application/json}, case-insensitive, with optional parameters; a {@code charset}
     * parameter, if present, must be UTF-8 (JSON is UTF-8, RFC 8259).
     *
     * @param contentType the header value, or null when absent
     * @return true for JSON; false for null, other media types and other charsets
     */
    public static boolean isMcpJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        String[] parts = contentType.split(";", -1);
        if (!parts[0].strip().equalsIgnoreCase("application/json")) {
            return false;
        }
        for (int i = 1; i < parts.length; i++) {
            String param = parts[i].strip();
            int eq = param.indexOf('=');
            if (eq < 0) {
                if (param.isEmpty()) {
                    continue; // "application/json;" is sloppy but unambiguous
                }
                return false;
            }
            if (param.substring(0, eq).strip().equalsIgnoreCase("charset")) {
                String value = param.substring(eq + 1).strip();
                if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                    value = value.substring(1, value.length() - 1);
                }
                if (!value.toLowerCase(Locale.ROOT).equals("utf-8")) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Jackson detects UTF-16 and UTF-32 by a byte order mark or by zero bytes at the start; an
     * upstream reading UTF-8 would see other text. JSON exchanged between systems is UTF-8 without
     * a BOM (RFC 8259 section 8.1), so anything else is refused before Jackson can guess.
     */
    private static void checkEncoding(byte[] body, int offset, int length) throws McpParseException {
        if (length == 0) {
            throw new McpParseException(PARSE_ERROR, "the body is empty (expected: a JSON-RPC request)", null);
        }
        int first = body[offset] & 0xFF;
        if (first == 0xEF || first == 0xFE || first == 0xFF) {
            throw new McpParseException(PARSE_ERROR,
                    "the body starts with a byte order mark (expected: UTF-8 JSON without a BOM)", null);
        }
        for (int i = offset; i < offset + Math.min(4, length); i++) {
            if (body[i] == 0) {
                throw new McpParseException(PARSE_ERROR,
                        "NUL byte at the start of the body (expected: UTF-8 JSON, not UTF-16 or UTF-32)", null);
            }
        }
    }

    private JsonNode readTree(byte[] body, int offset, int length) throws McpParseException {
        JsonParser parser;
        try {
            parser = factory.createParser(body, offset, length);
        } catch (IOException e) {
            // Nothing to read from a byte array can fail; refuse all the same.
            throw new McpParseException(PARSE_ERROR, "the body is not valid JSON", null);
        }
        try (parser) {
            JsonNode root = mapper.readTree(parser);
            if (root == null || root.isMissingNode()) {
                throw new McpParseException(PARSE_ERROR, "the body holds no JSON value (only whitespace)", null);
            }
            JsonLocation end = parser.currentLocation();
            try {
                if (parser.nextToken() != null) {
                    throw trailing(parser.currentTokenLocation());
                }
            } catch (JsonProcessingException e) {
                throw trailing(end);
            }
            return root;
        } catch (JsonProcessingException e) {
            throw refusal(e, parser.currentLocation());
        } catch (IOException e) {
            throw new McpParseException(PARSE_ERROR, "the body is not valid JSON", null);
        }
    }

    private static McpParseException trailing(JsonLocation location) {
        return new McpParseException(PARSE_ERROR,
                "data after the JSON value" + at(location) + " (expected: one JSON value)", null);
    }

    /** Maps Jackson's exception to a refusal; {@code where} is the parser's position when it threw. */
    private McpParseException refusal(JsonProcessingException e, JsonLocation current) {
        String where = at(e.getLocation() != null ? e.getLocation() : current);
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof StreamConstraintsException) {
                return new McpParseException(INVALID_REQUEST, limitReason(t.getMessage()) + where, null);
            }
        }
        String message = e.getOriginalMessage();
        // Jackson reports duplicates by message only; if that wording ever changes, the body is
        // still refused (as a parse error), and McpParserTest notices.
        if (message != null && message.startsWith("Duplicate field")) {
            return new McpParseException(INVALID_REQUEST, "duplicate key in a JSON object" + where
                    + " (refused: parsers disagree on which value counts)", null);
        }
        return new McpParseException(PARSE_ERROR, "the body is not valid JSON" + where, null);
    }

    private String limitReason(String message) {
        String m = message == null ? "" : message.toLowerCase(Locale.ROOT);
        if (m.contains("nesting depth")) {
            return "JSON nested deeper than " + maxDepth + " levels (the route's mcp.limits.maxDepth)";
        }
        if (m.contains("name length")) {
            return "a JSON key longer than " + maxStringChars + " characters (the route's mcp.limits.maxStringChars)";
        }
        if (m.contains("string value length")) {
            return "a JSON string longer than " + maxStringChars
                    + " characters (the route's mcp.limits.maxStringChars)";
        }
        if (m.contains("number value length")) {
            return "a JSON number longer than " + MAX_NUMBER_CHARS + " characters";
        }
        if (m.contains("document length")) {
            return "body larger than " + maxBytes + " bytes";
        }
        return "the body breaks a parser limit (depth " + maxDepth + ", string " + maxStringChars
                + " characters, number " + MAX_NUMBER_CHARS + " characters)";
    }

    private static String at(JsonLocation location) {
        if (location == null || location.getLineNr() < 1) {
            return "";
        }
        return " at line " + location.getLineNr() + ", column " + location.getColumnNr();
    }

    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "string";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }

    @Override
    public String toString() {
        return "McpParser[maxBytes=" + maxBytes + ", maxDepth=" + maxDepth + ", maxStringChars=" + maxStringChars
                + ", maxBatch=" + maxBatch + "]";
    }
}
