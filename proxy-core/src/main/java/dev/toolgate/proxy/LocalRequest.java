package dev.toolgate.proxy;

import dev.toolgate.identity.SpiffeId;

/**
 * A request to one of the sidecar's own endpoints ({@link TaskApi}): who asks, what, and the task token it carried
 * (a delegation's parent token). Its body is read by the exchange before it is served.
 *
 * @param agent  the caller's verified SPIFFE ID
 * @param method the HTTP method
 * @param path   the normalized path
 * @param query  the query, or null
 * @param token  the {@code toolgate-task} header, or null
 */
record LocalRequest(SpiffeId agent, String method, String path, String query, String token) {}
