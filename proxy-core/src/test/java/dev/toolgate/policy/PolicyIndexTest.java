package dev.toolgate.policy;

import static dev.toolgate.policy.Fixtures.RESEARCHER;
import static dev.toolgate.policy.Fixtures.ROUTES;
import static dev.toolgate.policy.Fixtures.grpc;
import static dev.toolgate.policy.Fixtures.http;
import static dev.toolgate.policy.Fixtures.write;
import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.common.DecisionCode;
import dev.toolgate.identity.SpiffeId;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A call is decided over the rules of its agent's documents indexed by route, worked out once per agent and kept
 * by the set ({@code SubjectRules}): these are the ways such an index could decide differently from reading every
 * rule of every document, each shown not to.
 */
class PolicyIndexTest {
    private static final Set<String> EXTERNAL = Set.of("external");
    private static final Set<String> PII = Set.of("pii");

    @TempDir
    Path dir;

    private PolicySet load(String... docs) throws Exception {
        for (int i = 0; i < docs.length; i++) {
            write(dir, "p/" + i + ".yaml", docs[i]);
        }
        return PolicyLoader.load(List.of(dir.resolve("p")), ROUTES);
    }

    private static String doc(String name, String subject, String body) {
        return "kind: Policy\nname: " + name + "\nsubjects: [\"" + subject + "\"]\n" + body;
    }

    @Test
    void aRuleForOneRouteNeverDecidesACallOnAnother() throws Exception {
        PolicySet set = load(doc("only", "spiffe://acme.dev/agents/research/*", """
                allow:
                  - {name: forecast, route: weather, operations: ["GET /forecast/**"]}
                  - {name: customers, route: crm, operations: ["GET /customers/*", "GET /secret"]}
                  - {name: all-weather, route: weather, operations: ["GET /secret"]}
                deny:
                  - {name: no-secret, route: weather, operations: ["GET /secret"], reason: "weather secret"}
                """));
        assertThat(set.evaluate(http("weather", EXTERNAL, "GET", "/forecast/today")).rule()).isEqualTo("only/forecast");
        Verdict crossed = set.evaluate(http("crm", PII, "GET", "/forecast/today"));
        assertThat(crossed.allow()).isFalse();
        assertThat(crossed.code()).isEqualTo(DecisionCode.DENY_POLICY);
        assertThat(crossed.rule()).isNull();
        assertThat(crossed.reason()).contains("no allow rule").contains("on route crm");
        assertThat(set.evaluate(http("weather", EXTERNAL, "GET", "/customers/1")).allow()).isFalse();
        // The deny rule of weather does not reach crm, where an allow rule holds the same operation.
        assertThat(set.evaluate(http("crm", PII, "GET", "/secret")).rule()).isEqualTo("only/customers");
        Verdict denied = set.evaluate(http("weather", EXTERNAL, "GET", "/secret"));
        assertThat(denied.allow()).isFalse();
        assertThat(denied.rule()).isEqualTo("only/no-secret");
        // A route no rule names at all.
        assertThat(set.evaluate(grpc("demo.Tools", "Search")).reason()).contains("on route inventory-grpc");
    }

    @Test
    void aDenyRuleForEveryRouteStaysInItsPlaceAmongTheRouteDenyRules() throws Exception {
        String allowAll = """
                allow:
                  - {route: weather, operations: ["GET /**"]}
                  - {route: crm, operations: ["GET /**"]}
                """;
        // Documents are read in name order: "a-..." before "b-...".
        PolicySet anyFirst = load(
                doc("a-any", "spiffe://acme.dev/agents/research/*", allowAll + """
                        deny:
                          - {name: any, route: "*", operations: ["GET /secret"], reason: "secret anywhere"}
                        """),
                doc("b-weather", "spiffe://acme.dev/agents/research/*", """
                        deny:
                          - {name: weather, route: weather, operations: ["GET /secret", "GET /other"], reason: "w"}
                        """));
        assertThat(anyFirst.evaluate(http("weather", EXTERNAL, "GET", "/secret")).rule()).isEqualTo("a-any/any");
        assertThat(anyFirst.evaluate(http("weather", EXTERNAL, "GET", "/other")).rule()).isEqualTo("b-weather/weather");
        // crm has no deny rule of its own: the every-route rule still applies there.
        assertThat(anyFirst.evaluate(http("crm", PII, "GET", "/secret")).rule()).isEqualTo("a-any/any");
        assertThat(anyFirst.evaluate(http("crm", PII, "GET", "/other")).allow()).isTrue();
    }

    @Test
    void theEveryRouteDenyRuleOfALaterDocumentComesAfterTheRouteRuleOfAnEarlierOne() throws Exception {
        PolicySet set = load(
                doc("a-weather", "spiffe://acme.dev/agents/research/*", """
                        allow:
                          - {route: weather, operations: ["GET /**"]}
                        deny:
                          - {name: weather, route: weather, operations: ["GET /secret"], reason: "w"}
                        """),
                doc("b-any", "spiffe://acme.dev/agents/research/*", """
                        deny:
                          - {name: any, route: "*", operations: ["GET /secret"], reason: "a"}
                        """));
        assertThat(set.evaluate(http("weather", EXTERNAL, "GET", "/secret")).rule()).isEqualTo("a-weather/weather");
    }

    @Test
    void subjectPatternsWithWildcardsStillMatchAfterIndexing() throws Exception {
        PolicySet set = load(
                doc("one-star", "spiffe://acme.dev/agents/*/r1", """
                        allow:
                          - {name: w, route: weather, operations: ["GET /forecast/**"]}
                        """),
                doc("tail", "spiffe://acme.dev/agents/**", """
                        allow:
                          - {name: c, route: crm, operations: ["GET /customers/*"]}
                        """),
                doc("exact", "spiffe://acme.dev/agents/research/r1", """
                        allow:
                          - {name: g, route: inventory-grpc, operations: ["grpc:demo.Tools/Search"]}
                        """));
        var weather = http("weather", EXTERNAL, "GET", "/forecast/today");
        var crm = http("crm", PII, "GET", "/customers/7");
        var search = grpc("demo.Tools", "Search");

        assertThat(set.evaluate(weather).rule()).isEqualTo("one-star/w");
        assertThat(set.evaluate(crm).rule()).isEqualTo("tail/c");
        assertThat(set.evaluate(search).rule()).isEqualTo("exact/g");

        SpiffeId salesR1 = SpiffeId.parse("spiffe://acme.dev/agents/sales/r1");
        assertThat(set.evaluate(weather.withAgent(salesR1)).rule()).isEqualTo("one-star/w");
        assertThat(set.evaluate(crm.withAgent(salesR1)).rule()).isEqualTo("tail/c");
        assertThat(set.evaluate(search.withAgent(salesR1)).allow()).isFalse();

        SpiffeId oneSegment = SpiffeId.parse("spiffe://acme.dev/agents/x");
        assertThat(set.evaluate(weather.withAgent(oneSegment)).allow()).isFalse();
        assertThat(set.evaluate(crm.withAgent(oneSegment)).rule()).isEqualTo("tail/c");

        SpiffeId otherDomain = SpiffeId.parse("spiffe://other.dev/agents/research/r1");
        assertThat(set.evaluate(crm.withAgent(otherDomain)).reason()).contains("no policy document applies");
        SpiffeId noPath = SpiffeId.parse("spiffe://acme.dev");
        assertThat(set.evaluate(crm.withAgent(noPath)).reason()).contains("no policy document applies");
    }

    @Test
    void agentsDoNotShareWhatTheSetKeepsForThem() throws Exception {
        PolicySet set = load(doc("research", "spiffe://acme.dev/agents/research/*", """
                allow:
                  - {route: weather, operations: ["GET /forecast/**"]}
                """));
        var call = http("weather", EXTERNAL, "GET", "/forecast/today");
        SpiffeId stranger = SpiffeId.parse("spiffe://acme.dev/agents/sales/s1");
        for (int i = 0; i < 3; i++) {
            // equal but distinct instances, as each connection parses its own
            assertThat(set.evaluate(call.withAgent(SpiffeId.parse(RESEARCHER.uri()))).allow()).isTrue();
            assertThat(set.evaluate(call.withAgent(SpiffeId.parse(stranger.uri()))).reason())
                    .contains("no policy document applies to " + stranger.uri());
        }
    }

    @Test
    void agentsBeyondThoseTheSetKeepsAreDecidedTheSame() throws Exception {
        PolicySet set = load(doc("research", "spiffe://acme.dev/agents/research/*", """
                allow:
                  - {route: weather, operations: ["GET /forecast/**"]}
                """));
        var call = http("weather", EXTERNAL, "GET", "/forecast/today");
        for (int i = 0; i < PolicySet.MAX_SUBJECTS + 50; i++) {
            assertThat(set.evaluate(call.withAgent(SpiffeId.parse("spiffe://acme.dev/agents/research/r" + i))).allow())
                    .isTrue();
            assertThat(set.evaluate(call.withAgent(SpiffeId.parse("spiffe://acme.dev/agents/sales/s" + i))).allow())
                    .isFalse();
        }
    }

    @Test
    void aShadowDocumentJoinsOnlyWhatShadowWouldDecide() throws Exception {
        PolicySet set = load(
                doc("a-enforced", "spiffe://acme.dev/agents/research/*", """
                        allow:
                          - {name: w, route: weather, operations: ["GET /**"]}
                        """),
                "mode: shadow\n" + doc("b-shadow", "spiffe://acme.dev/agents/**", """
                        allow:
                          - {name: w, route: weather, operations: ["GET /**"]}
                        deny:
                          - {name: no-secret, route: weather, operations: ["GET /secret"], reason: "s"}
                        """));
        Verdict shadowDenied = set.evaluate(http("weather", EXTERNAL, "GET", "/secret"));
        assertThat(shadowDenied.forwards()).isTrue();
        assertThat(shadowDenied.shadow()).isTrue();
        assertThat(shadowDenied.code()).isEqualTo(DecisionCode.DENY_POLICY);
        assertThat(shadowDenied.rule()).isEqualTo("b-shadow/no-secret");
        assertThat(set.evaluate(http("weather", EXTERNAL, "GET", "/public")).rule()).isEqualTo("a-enforced/w");
        // An agent only the shadow document covers: limited by its grants alone, the shadow rule still reported.
        SpiffeId sales = SpiffeId.parse("spiffe://acme.dev/agents/sales/s1");
        Verdict onlyShadow = set.evaluate(http("weather", EXTERNAL, "GET", "/public").withAgent(sales));
        assertThat(onlyShadow.allow()).isTrue();
        assertThat(onlyShadow.rule()).isEqualTo("b-shadow/w");
    }
}
