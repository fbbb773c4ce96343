package dev.toolgate.proxy;

/** Why an upstream connection or stream could not be had; carries the answer the agent gets. */
final class UpstreamException extends Exception {
    private static final long serialVersionUID = 1L;

    final transient ProxyError error;

    UpstreamException(ProxyError error, String reason, Throwable cause) {
        super(reason, cause, false, false);
        this.error = error;
    }
}
