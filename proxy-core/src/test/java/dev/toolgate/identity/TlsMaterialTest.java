package dev.toolgate.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContext;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsMaterialTest {

    @TempDir
    Path caDir;

    @Test
    void buildsContextsOnceAndPrefersBoringSsl() throws Exception {
        DevCa ca = DevCa.openOrCreate(caDir, "example.org");
        Svid own = ca.issue(SpiffeId.parse("spiffe://example.org/toolgate"));
        SpiffeId tool = SpiffeId.parse("spiffe://example.org/tool");

        TlsMaterial material = TlsMaterial.of(own, ca.bundles());

        assertThat(material.svid()).isSameAs(own);
        assertThat(material.serverContext()).isSameAs(material.serverContext());
        assertThat(material.serverContext().isServer()).isTrue();
        assertThat(material.upstreamContext(tool, true)).isSameAs(material.upstreamContext(tool, true))
                .isNotSameAs(material.upstreamContext(tool, false));
        assertThat(material.upstreamContext(tool, true).isClient()).isTrue();
        assertThat(material.upstreamContext(tool, true).applicationProtocolNegotiator().protocols()).containsExactly("h2");
        assertThat(material.upstreamContext(tool, false).applicationProtocolNegotiator().protocols())
                .containsExactly("http/1.1");
        assertThat(material.serverContext().applicationProtocolNegotiator().protocols())
                .containsExactly("h2", "http/1.1");
        assertThat(material.serverContext() instanceof OpenSslContext).isEqualTo(OpenSsl.isAvailable());
        assertThatNullPointerException().isThrownBy(() -> material.upstreamContext(null, true));
        assertThatNullPointerException().isThrownBy(() -> TlsMaterial.of(own, null));
    }
}
