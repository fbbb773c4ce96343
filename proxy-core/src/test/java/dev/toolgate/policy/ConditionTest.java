package dev.toolgate.policy;

import static dev.toolgate.policy.Fixtures.toolCall;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConditionTest {
    private static final Condition ACME = Condition.compile("mcp.arguments.repo.startsWith(\"acme/\")");

    @Test
    void argumentConditionAllowsAndDenies() throws Exception {
        assertThat(ACME.evaluate(toolCall("search_issues", Map.of("repo", "acme/widgets")))).isTrue();
        assertThat(ACME.evaluate(toolCall("search_issues", Map.of("repo", "evil/widgets")))).isFalse();
    }

    @Test
    void argumentsMayComeAsAJacksonTree() throws Exception {
        Object tree = new ObjectMapper().readTree("{\"repo\":\"acme/x\",\"n\":3,\"tags\":[\"a\",\"b\"],\"x\":null,"
                + "\"f\":2.5,\"big\":123456789012345678901234567890}");
        assertThat(ACME.evaluate(toolCall("search_issues", tree))).isTrue();
        assertThat(Condition.compile("mcp.arguments.n == 3 && mcp.arguments.n < 3.5 && mcp.arguments.f > 2"
                + " && mcp.arguments.tags.exists(t, t == 'b') && mcp.arguments.x == null && mcp.arguments.big > 1.0")
                .evaluate(toolCall("search_issues", tree))).isTrue();
    }

    @Test
    void aJacksonTreeReadsAsTheSameValuesAsPlainJava() throws Exception {
        // The tree is read through lazy views, plain Java values are copied: every way CEL reads a map or a list
        // must give the same answer for both.
        String json = "{\"repo\":\"acme/widgets\",\"limit\":25,\"ratio\":0.5,\"draft\":false,\"none\":null,"
                + "\"filters\":{\"state\":\"open\",\"labels\":[\"bug\",\"triage\"]},\"ids\":[1,2,3]}";
        Object tree = new ObjectMapper().readTree(json);
        Object plain = new ObjectMapper().readValue(json, Map.class);
        List<String> holding = List.of(
                "mcp.arguments.filters == {'state': 'open', 'labels': ['bug', 'triage']}",
                "mcp.arguments.filters.labels == ['bug', 'triage']",
                "mcp.arguments.filters.labels[1] == 'triage'",
                "'repo' in mcp.arguments && !('nope' in mcp.arguments)",
                "'bug' in mcp.arguments.filters.labels",
                "size(mcp.arguments) == 7 && mcp.arguments.size() == 7 && size(mcp.arguments.ids) == 3",
                "mcp.arguments.exists(k, k == 'limit') && mcp.arguments.all(k, k != 'token')",
                "mcp.arguments.filters.exists_one(k, k == 'state')",
                "mcp.arguments.ids.all(i, i > 0) && mcp.arguments.ids.map(i, i * 2) == [2, 4, 6]",
                "mcp.arguments.ids.filter(i, i > 1).size() == 2",
                "mcp.arguments.limit + 1 == 26 && mcp.arguments.ratio < 1.0 && !mcp.arguments.draft",
                "mcp.arguments.none == null && has(mcp.arguments.filters.state) && !has(mcp.arguments.filters.x)",
                "mcp.arguments.filters != {'state': 'closed', 'labels': ['bug', 'triage']}",
                "mcp.arguments.ids != [1, 2]");
        for (String e : holding) {
            Condition c = Condition.compile(e);
            assertThat(c.evaluate(toolCall("search_issues", tree))).as(e + " on the tree").isTrue();
            assertThat(c.evaluate(toolCall("search_issues", plain))).as(e + " on plain values").isTrue();
        }
        for (String e : List.of("mcp.arguments.ids[3] == 1", "mcp.arguments.filters.nope == 1")) {
            Condition c = Condition.compile(e);
            assertThatThrownBy(() -> c.evaluate(toolCall("search_issues", tree))).as(e)
                    .isInstanceOf(ConditionException.class);
            assertThatThrownBy(() -> c.evaluate(toolCall("search_issues", plain))).as(e)
                    .isInstanceOf(ConditionException.class);
        }
    }

    @Test
    void aJacksonTreeNestingTooDeepIsAnErrorWhereItIsRead() throws Exception {
        String deep = "[".repeat(CelValues.MAX_DEPTH + 5) + "1" + "]".repeat(CelValues.MAX_DEPTH + 5);
        Object tree = new ObjectMapper().readTree("{\"repo\":\"acme/x\",\"deep\":" + deep + "}");
        assertThat(ACME.evaluate(toolCall("search_issues", tree))).isTrue();
        Condition c = Condition.compile("mcp.arguments.deep == mcp.arguments.deep");
        assertThatThrownBy(() -> c.evaluate(toolCall("search_issues", tree)))
                .isInstanceOf(ConditionException.class).hasMessageContaining("deeper");
    }

    @Test
    void aMissingKeyIsAnErrorNotFalse() {
        Condition c = Condition.compile("mcp.arguments.nope.size() > 0");
        assertThatThrownBy(() -> c.evaluate(toolCall("search_issues", Map.of("repo", "acme/x"))))
                .isInstanceOf(ConditionException.class)
                .hasMessageContaining("nope");
    }

    @Test
    void hasAsksForAnOptionalKey() throws Exception {
        Condition c = Condition.compile("has(mcp.arguments.repo) && mcp.arguments.repo.startsWith('acme/')");
        assertThat(c.evaluate(toolCall("search_issues", Map.of()))).isFalse();
        assertThat(c.evaluate(toolCall("search_issues", null))).isFalse();
        assertThat(c.evaluate(toolCall("search_issues", Map.of("repo", "acme/x")))).isTrue();
        assertThat(Condition.compile("has(mcp.tool)").evaluate(Fixtures.http("weather", java.util.Set.of(), "GET",
                "/forecast"))).isFalse();
    }

    @Test
    void aResultThatIsNotABoolIsAnError() {
        // Type-checks (arguments are dyn) but yields a string at run time.
        Condition c = Condition.compile("mcp.arguments.repo");
        assertThatThrownBy(() -> c.evaluate(toolCall("search_issues", Map.of("repo", "acme/x"))))
                .isInstanceOf(ConditionException.class)
                .hasMessageContaining("expected: a bool");
    }

    @Test
    void aTypeMismatchAtRunTimeIsAnError() {
        Condition c = Condition.compile("mcp.arguments.repo.startsWith('acme/')");
        assertThatThrownBy(() -> c.evaluate(toolCall("search_issues", Map.of("repo", 42))))
                .isInstanceOf(ConditionException.class);
    }

    @Test
    void compileTimeChecksRefuseWhatCanNeverWork() {
        assertThatThrownBy(() -> Condition.compile("request.pth == '/x'"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("undefined field 'pth'");
        assertThatThrownBy(() -> Condition.compile("request.path"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bool");
        assertThatThrownBy(() -> Condition.compile("nobody == 1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("undeclared reference");
        assertThatThrownBy(() -> Condition.compile("task.calls == 'x'"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Condition.compile("request.path.matches('(')"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Condition.compile("  "))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> Condition.compile("true &&"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void limitsAreEnforcedAtCompileTime() {
        String tooLong = "true" + " && true".repeat(600);
        assertThat(tooLong.length()).isGreaterThan(Condition.MAX_LENGTH);
        assertThatThrownBy(() -> Condition.compile(tooLong))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: <= 4096");
        assertThatThrownBy(() -> Condition.compile("(".repeat(40) + "true" + ")".repeat(40)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit");
        assertThatThrownBy(() -> Condition.compile(
                "[1].all(a, [1].all(b, [1].all(c, a == b && b == c)))"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nested 3 deep");
        assertThat(Condition.compile("[1].all(a, [1].exists(b, a == b))").expression()).contains("exists");
    }

    @Test
    void iterationsAreLimitedAtRunTime() {
        Condition c = Condition.compile("mcp.arguments.l.all(a, mcp.arguments.l.all(b, a == b || a != b))");
        List<Long> fifty = Arrays.asList(new Long[50]);
        java.util.Collections.fill(fifty, 1L);
        assertThatThrownBy(() -> c.evaluate(toolCall("x", Map.of("l", fifty))))
                .isInstanceOf(ConditionException.class).hasMessageContaining("budget");
    }

    @Test
    void allVariablesAreThere() throws Exception {
        Fixtures.Facts f = toolCall("search_issues", Map.of("repo", "acme/x"))
                .withHistory("pii").withHeaders(Map.of("x-team", "blue"));
        assertThat(Condition.compile("""
                request.method == 'POST' && request.path == '/' && request.headers['x-team'] == 'blue'
                && mcp.method == 'tools/call' && mcp.tool == 'search_issues'
                && task.id == 't-1' && task.purpose == 'triage issues' && 'pii' in task.labels && task.calls == 0
                && agent.id == 'spiffe://acme.dev/agents/research/r1' && agent.trust_domain == 'acme.dev'
                && agent.path == '/agents/research/r1'
                && now == timestamp('2026-11-28T12:00:00Z') && now.getHours('UTC') == 12
                && grpc == grpc && !has(grpc.service)
                """).evaluate(f)).isTrue();
        assertThat(Condition.compile("grpc.service == 'demo.Tools' && grpc.method == 'Search' && !has(mcp.method)")
                .evaluate(Fixtures.grpc("demo.Tools", "Search"))).isTrue();
    }

    @Test
    void credentialsAndTheTaskTokenAreNeverVisible() throws Exception {
        Fixtures.Facts f = toolCall("x", Map.of()).withHeaders(Map.of("authorization", "Bearer s3cret",
                "toolgate-task", "tg1.secret", "cookie", "a=b", "proxy-authorization", "Basic x", "accept", "*/*"));
        assertThat(Condition.compile("'accept' in request.headers && !('authorization' in request.headers)"
                + " && !('toolgate-task' in request.headers) && !('cookie' in request.headers)"
                + " && !('proxy-authorization' in request.headers)").evaluate(f)).isTrue();
    }

    @Test
    void argumentsNestingTooDeepIsAnError() {
        Object nested = "x";
        for (int i = 0; i < CelValues.MAX_DEPTH + 5; i++) {
            nested = List.of(nested);
        }
        Object deep = nested;
        assertThatThrownBy(() -> ACME.evaluate(toolCall("search_issues", Map.of("repo", deep))))
                .isInstanceOf(ConditionException.class).hasMessageContaining("deeper");
    }
}
