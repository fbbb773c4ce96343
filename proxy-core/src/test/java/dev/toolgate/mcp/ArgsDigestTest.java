package dev.toolgate.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The argument digest approvals and the audit compare calls by. */
class ArgsDigestTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    @Test
    void isSha256OfTheCanonicalForm() throws Exception {
        String canonical = "{\"a\":[1,true,null,\"x\\\"y\"],\"b\":{\"c\":\"d\",\"e\":2.5}}";
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(canonical.getBytes(StandardCharsets.UTF_8)));
        assertThat(ArgsDigest.of(json("{ \"b\" : {\"e\":2.5, \"c\":\"d\"},\n \"a\": [1, true, null, \"x\\\"y\"] }")))
                .isEqualTo(expected);
    }

    @Test
    void keyOrderAndSpacingDoNotMatter_valuesDo() throws Exception {
        String d = ArgsDigest.of(json("{\"to\":\"cfo@example.com\",\"subject\":\"Q3\"}"));
        assertThat(ArgsDigest.of(json("{ \"subject\": \"Q3\", \"to\": \"cfo@example.com\" }"))).isEqualTo(d);
        assertThat(ArgsDigest.of(json("{\"to\":\"attacker@example.net\",\"subject\":\"Q3\"}"))).isNotEqualTo(d);
        assertThat(ArgsDigest.of(json("{\"to\":\"cfo@example.com\",\"subject\":\"Q3\",\"bcc\":\"x\"}")))
                .isNotEqualTo(d);
        assertThat(ArgsDigest.of(json("[\"a\",\"b\"]"))).isNotEqualTo(ArgsDigest.of(json("[\"b\",\"a\"]")));
        assertThat(ArgsDigest.of(json("{\"n\":1}"))).isNotEqualTo(ArgsDigest.of(json("{\"n\":\"1\"}")));
    }

    @Test
    void aCallWithoutArgumentsHasNoDigest() {
        assertThat(ArgsDigest.of((JsonNode) null)).isNull();
        assertThat(ArgsDigest.of((McpMessage) null)).isNull();
    }
}
