package dev.toolgate.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import org.junit.jupiter.api.Test;

/** The denial body Envoy sends the agent is the data plane's JSON: written by Jackson, ASCII only, one line. */
class ExtAuthzAnswersTest {
    @Test
    void aReasonQuotingHostileTextIsEscapedAndReadsBackExactly() throws Exception {
        String reason = "no route for /caf\u00e9/\"x\"\\y\n\u2028\u0001";
        CheckResponse r = ExtAuthzAnswers.denied(404, "no_route", "DENY_POLICY", reason, null, "d1", "apr_1", 3);
        String body = r.getDeniedResponse().getBody();
        assertThat(body).endsWith("}\n").doesNotContain("\n{").matches("\\p{ASCII}*");
        assertThat(body).contains("caf\\u00E9").contains("\\u2028").contains("\\\"x\\\"");
        JsonNode json = new ObjectMapper().readTree(body);
        assertThat(json.path("reason").asText()).isEqualTo(reason);
        assertThat(json.path("error").asText()).isEqualTo("no_route");
        assertThat(json.path("approval_id").asText()).isEqualTo("apr_1");
        assertThat(json.path("retry_after").asLong()).isEqualTo(3);
        assertThat(json.has("route")).isFalse();
    }
}
