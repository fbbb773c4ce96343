package dev.toolgate.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.identity.Svid;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The test SPIRE agent speaks the Workload API as SPIRE does, checked with a plain gRPC client. */
class TestSpireAgentTest {
    @TempDir
    Path dir;

    private EventLoopGroup group;
    private TestSpireAgent agent;
    private ManagedChannel channel;

    @BeforeEach
    void setUp() throws Exception {
        agent = TestSpireAgent.start(dir.resolve("agent.sock"));
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(agent.socket().toString()))
                .channelType(EpollDomainSocketChannel.class)
                .eventLoopGroup(group)
                .withOption(ChannelOption.SO_KEEPALIVE, null) // TCP only
                .usePlaintext()
                .build();
    }

    @AfterEach
    void tearDown() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        agent.close();
    }

    private SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub(boolean securityHeader) {
        SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub = SpiffeWorkloadAPIGrpc.newBlockingStub(channel)
                .withDeadlineAfter(5, TimeUnit.SECONDS);
        if (!securityHeader) {
            return stub;
        }
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER), "true");
        return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    @Test
    void refusesACallWithoutTheSecurityHeaderAsSpireDoes() {
        assertThatThrownBy(() -> stub(false).fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance()).next())
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).isEqualTo("security header missing from request");
                });
        assertThat(agent.refusedCalls()).isEqualTo(1);
        assertThat(agent.x509Calls()).isZero();
    }

    @Test
    void answersNoIdentityIssuedUntilItHasAnSvid() {
        assertThatThrownBy(() -> stub(true).fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance()).next())
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                    assertThat(e.getStatus().getDescription()).isEqualTo("no identity issued");
                });
    }

    @Test
    void streamsTheSvidItsBundleAndEveryRotation() throws Exception {
        TestPki pki = TestPki.create(dir);
        Svid first = pki.issue(TestPki.SIDECAR);
        agent.issue(first, pki.ca().certificate());
        Iterator<Workload.X509SVIDResponse> stream = stub(true).fetchX509SVID(
                Workload.X509SVIDRequest.getDefaultInstance());

        Workload.X509SVID svid = stream.next().getSvids(0);
        assertThat(svid.getSpiffeId()).isEqualTo(TestPki.SIDECAR.toString());
        assertThat(certificates(svid.getX509Svid().toByteArray())).isEqualTo(first.chain());
        assertThat(svid.getX509SvidKey().toByteArray()).isEqualTo(first.key().getEncoded());
        assertThat(certificates(svid.getBundle().toByteArray())).containsExactly(pki.ca().certificate());
        assertThat(agent.openX509Streams()).isEqualTo(1);

        Svid second = pki.issue(TestPki.SIDECAR);
        agent.issue(second, pki.ca().certificate());
        assertThat(certificates(stream.next().getSvids(0).getX509Svid().toByteArray())).isEqualTo(second.chain());
    }

    private static List<X509Certificate> certificates(byte[] der) throws Exception {
        return CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(der)).stream()
                .map(X509Certificate.class::cast)
                .toList();
    }
}
