package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The strict decoder on its own: Netty's behaviour plus the two smuggling shapes it would otherwise accept. */
class StrictHttpRequestDecoderTest {

    private static EmbeddedChannel channel() {
        return new EmbeddedChannel(new StrictHttpRequestDecoder(4096, 8192));
    }

    private static void write(EmbeddedChannel ch, String s) {
        ch.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1));
    }

    @Test
    void decodesAPlainRequestAndTheNextOneOnTheSameConnection() {
        EmbeddedChannel ch = channel();
        write(ch, "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1 2\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab");
        write(ch, "c");
        HttpRequest first = ch.readInbound();
        assertThat(first.decoderResult().isSuccess()).isTrue();
        assertThat(first.uri()).isEqualTo("/a");
        assertThat(first.headers().get("X-A")).isEqualTo("1 2");
        assertThat((Object) ch.readInbound()).isInstanceOf(LastHttpContent.class);
        HttpRequest second = ch.readInbound();
        assertThat(second.uri()).isEqualTo("/b");
        int body = 0;
        for (HttpContent c = ch.readInbound(); c != null; c = ch.readInbound()) {
            body += c.content().readableBytes();
            c.release();
        }
        assertThat(body).isEqualTo(3);
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void refusesObsFoldEvenWhenSplitAcrossReads() {
        EmbeddedChannel ch = channel();
        write(ch, "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n");
        write(ch, " continued\r\n\r\n");
        HttpRequest req = ch.readInbound();
        assertThat(req.decoderResult().isFailure()).isTrue();
        assertThat(req.decoderResult().cause()).hasMessageContaining("obs-fold");
        assertThat((Object) ch.readInbound()).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void aBodyContainingFoldLikeBytesIsNotRefused() {
        EmbeddedChannel ch = channel();
        write(ch, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\na\r\n bc");
        write(ch, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
        HttpRequest req = ch.readInbound();
        assertThat(req.decoderResult().isSuccess()).isTrue();
        LastHttpContent body = ch.readInbound();
        assertThat(body.content().toString(StandardCharsets.ISO_8859_1)).isEqualTo("a\r\n bc");
        body.release();
        HttpRequest next = ch.readInbound();
        assertThat(next.decoderResult().isSuccess()).isTrue();
        assertThat(next.uri()).isEqualTo("/b");
        assertThat((Object) ch.readInbound()).isInstanceOf(LastHttpContent.class);
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void refusesTransferEncodingWithContentLength() {
        EmbeddedChannel ch = channel();
        write(ch, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        HttpRequest req = ch.readInbound();
        assertThat(req.decoderResult().isFailure()).isTrue();
        assertThat(req.decoderResult().cause()).hasMessageContaining("Transfer-Encoding together with Content-Length");
        assertFalse(ch.finishAndReleaseAll());
    }
}
