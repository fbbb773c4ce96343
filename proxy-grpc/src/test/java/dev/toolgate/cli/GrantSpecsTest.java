package dev.toolgate.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.api.v1.RequestedGrant;
import org.junit.jupiter.api.Test;

/** {@code --grant}: key=value pairs, and a CEL condition under {@code when} (its name in policy rules). */
class GrantSpecsTest {
    @Test
    void whenComesLastAndKeepsItsCommas() {
        RequestedGrant g = GrantSpecs.parse("route=github,op=mcp:tools/call:search_issues,budget=3,"
                + "when=mcp.arguments.repo in [\"acme/api\", \"acme/web\"]");
        assertThat(g.getRoute()).isEqualTo("github");
        assertThat(g.getOperationsList()).containsExactly("mcp:tools/call:search_issues");
        assertThat(g.getBudget()).isEqualTo(3);
        assertThat(g.getWhen()).isEqualTo("mcp.arguments.repo in [\"acme/api\", \"acme/web\"]");
        assertThat(GrantSpecs.parse("route=weather,op=GET /x").getWhen()).isEmpty();
    }

    @Test
    void theOldNameAndAnEmptyConditionAreRefused() {
        assertThatThrownBy(() -> GrantSpecs.parse("route=weather,op=GET /x,condition=true"))
                .hasMessageContaining("condition is now when").hasMessageContaining("[,when=CEL]");
        assertThatThrownBy(() -> GrantSpecs.parse("route=weather,op=GET /x,when= "))
                .hasMessageContaining("when is empty");
        assertThatThrownBy(() -> GrantSpecs.parse("when=true")).hasMessageContaining("route missing");
    }
}
