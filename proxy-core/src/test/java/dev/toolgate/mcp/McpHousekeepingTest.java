package dev.toolgate.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.common.Protocol;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class McpHousekeepingTest {
    @ParameterizedTest
    @ValueSource(strings = {"mcp:initialize", "mcp:notifications/initialized", "mcp:ping",
            "mcp:notifications/cancelled", "mcp:stream", "mcp:session/close"})
    void sessionSetUpLivenessCancellationStreamAndCloseAreHousekeepingOnAnMcpRouteOnly(String operation) {
        assertThat(McpHousekeeping.covers(Protocol.MCP, operation)).isTrue();
        assertThat(McpHousekeeping.covers(Protocol.HTTP, operation)).isFalse();
        assertThat(McpHousekeeping.covers(Protocol.GRPC, operation)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"mcp:tools/call:search", "mcp:tools/list", "mcp:resources/read:file:///x",
            "mcp:notifications/progress", "mcp:notifications/*", "mcp:response", "mcp:initialize ", "MCP:ping",
            "POST /", "GET /", "DELETE /", ""})
    void anythingElseNeedsAGrantOfItsOwn(String operation) {
        assertThat(McpHousekeeping.covers(Protocol.MCP, operation)).isFalse();
    }

    @Test
    void theTransportsGetAndDeleteHaveTheirOwnOperations() {
        assertThat(McpHousekeeping.transportOperation("GET")).isEqualTo(McpHousekeeping.STREAM).isEqualTo("mcp:stream");
        assertThat(McpHousekeeping.transportOperation("DELETE")).isEqualTo(McpHousekeeping.SESSION_CLOSE)
                .isEqualTo("mcp:session/close");
        assertThat(McpHousekeeping.transportOperation("POST")).isNull();
        assertThat(McpHousekeeping.transportOperation("get")).isNull();
    }
}
