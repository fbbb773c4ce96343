package dev.toolgate.proxy;

import dev.toolgate.admission.Step;
import dev.toolgate.identity.SpiffeId;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;

/**
 * A request to the sidecar's own task endpoints ({@code /_toolgate/...}, {@link TaskApi}) within one
 * {@link Exchange}: its (small) body is read, it is served on the task executor (the journal fsyncs), and the answer
 * is written back on the event loop unless the agent left meanwhile. Audited by the task records it causes.
 *
 * <p>Not thread-safe: created and answered on the exchange's event loop; served on the task executor.
 */
final class LocalCall {
    private final Exchange ex;
    private final SpiffeId agent;
    private final String method;
    private final Step.Local request;

    LocalCall(Exchange ex, SpiffeId agent, String method, Step.Local request) {
        this.ex = ex;
        this.agent = agent;
        this.method = method;
        this.request = request;
    }

    /** Reads the body (refused 413 above {@link TaskApi#MAX_BODY_BYTES}), then serves the request. */
    void start(HttpRequest req, boolean full) {
        if (HttpUtil.getContentLength(req, 0L) > TaskApi.MAX_BODY_BYTES) {
            ex.refuse(new RequestChecks.Refusal(ProxyError.BODY_TOO_LARGE,
                    "body larger than " + TaskApi.MAX_BODY_BYTES + " bytes"), true);
            return;
        }
        ex.body.collect(req, full, TaskApi.MAX_BODY_BYTES, this::serve, null);
    }

    /** The body is in: serve it on the task executor, answer on the event loop. */
    private void serve() {
        BodyCollector in = ex.body.take();
        byte[] body = in.bytes();
        in.release();
        ex.state = Exchange.State.LOCAL;
        ex.rt.taskApi().serve(agent, method, request.target().path(), request.target().query(), request.token(),
                body, ex.ctx.executor(), this::answer);
    }

    private void answer(TaskApi.Answer a) {
        if (!ex.serving(this)) {
            return; // the agent left meanwhile
        }
        ex.audit.local(a.status());
        ex.answerJson(a.status(), a.json());
    }
}
