package dev.toolgate.call;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouteTableTest {
    private static RouteConfig prefix(String name, String prefix, String url) {
        return new RouteConfig(name, prefix, null, null, new UpstreamConfig(URI.create(url), null, null), null, null);
    }

    private final RouteTable table = RouteTable.of(List.of(
            prefix("api", "/api", "http://h"),
            prefix("weather", "/api/weather", "http://h/base/"),
            new RouteConfig("inv", null, "inventory.v1.Inventory", null,
                    new UpstreamConfig(URI.create("http://g"), null, null), null, null)));

    @Test
    void longestPrefixWinsAndIsStrippedWithBasePath() {
        RouteMatch m = table.match("/api/weather/v1/forecast");
        assertThat(m.route().name()).isEqualTo("weather");
        assertThat(m.upstreamPath()).isEqualTo("/base/v1/forecast");
        assertThat(table.match("/api/other").upstreamPath()).isEqualTo("/other");
    }

    @Test
    void wholeSegmentsOnly() {
        assertThat(table.match("/api/weatherman").route().name()).isEqualTo("api");
        assertThat(table.match("/apis")).isNull();
        assertThat(table.match("/")).isNull();
    }

    @Test
    void exactPrefixAndTrailingSlash() {
        assertThat(table.match("/api/weather").upstreamPath()).isEqualTo("/base");
        assertThat(table.match("/api/weather/").upstreamPath()).isEqualTo("/base/");
        assertThat(table.match("/api").upstreamPath()).isEqualTo("/");
    }

    @Test
    void grpcServiceMatchesAndKeepsThePath() {
        RouteMatch m = table.match("/inventory.v1.Inventory/Get");
        assertThat(m.route().name()).isEqualTo("inv");
        assertThat(m.upstreamPath()).isEqualTo("/inventory.v1.Inventory/Get");
        assertThat(table.match("/inventory.v1.InventoryX/Get")).isNull();
    }

    @Test
    void matchingIsCaseSensitive() {
        assertThat(table.match("/API/weather/x")).isNull();
    }
}
