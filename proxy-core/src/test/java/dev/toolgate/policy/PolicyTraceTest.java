package dev.toolgate.policy;

import static dev.toolgate.policy.Fixtures.RESEARCH;
import static dev.toolgate.policy.Fixtures.ROUTES;
import static dev.toolgate.policy.Fixtures.toolCall;
import static dev.toolgate.policy.Fixtures.write;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PolicySet#traced}: the same decisions as the untraced set, and the trace hears the rules the evaluation
 * looked at, with their conditions' results, and the variables conditions saw (what {@code policy explain} prints).
 */
class PolicyTraceTest {
    @TempDir
    Path dir;

    @Test
    void aTracedSetDecidesTheSameAndHearsEveryMatchingRule() throws Exception {
        write(dir, "p/r.yaml", RESEARCH);
        PolicySet plain = PolicyLoader.load(List.of(dir.resolve("p")), ROUTES);
        List<PolicyTrace.Looked> looked = new ArrayList<>();
        List<Map<String, Object>> seen = new ArrayList<>();
        PolicySet traced = plain.traced(new PolicyTrace() {
            @Override
            public void call(Map<String, Object> variables) {
                seen.add(variables);
            }

            @Override
            public void rule(Looked l) {
                looked.add(l);
            }
        });

        for (Map<String, Object> args : List.of(Map.<String, Object>of("repo", "acme/widgets"),
                Map.<String, Object>of("repo", "evil/widgets"))) {
            assertThat(traced.evaluate(toolCall("search_issues", args)))
                    .isEqualTo(plain.evaluate(toolCall("search_issues", args)));
        }
        assertThat(traced.version()).isEqualTo(plain.version());
        assertThat(traced.rules()).isEqualTo(plain.rules()).contains("research-agents/allow[1]",
                "research-agents/no-delete");

        assertThat(looked).extracting(PolicyTrace.Looked::rule, PolicyTrace.Looked::kind, PolicyTrace.Looked::held)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("research-agents/allow[1]", "allow", true),
                        org.assertj.core.groups.Tuple.tuple("research-agents/allow[1]", "allow", false));
        assertThat(seen).hasSize(2);
        assertThat(seen.get(1)).containsKeys("agent", "task", "request", "mcp", "grpc", "now");
        assertThat(seen.get(1).get("mcp").toString()).contains("evil/widgets");
    }
}
