/**
 * Upstream credentials injected by the sidecar, so the agent never holds them.
 *
 * <p>{@link dev.toolgate.credential.Credentials} is the way in: built from the routes, it sets each route's
 * credential header on a call about to be forwarded — a static secret (an API key read from a file or the
 * environment at load) or a JWT minted per task and upstream, signed by {@link dev.toolgate.credential.SigningKeys}
 * and verifiable against the JWKS the admin listener publishes. When a task ends, its JWTs are dropped and no new
 * one is minted for it. Failures are {@link dev.toolgate.credential.CredentialException}: the call is denied.
 */
package dev.toolgate.credential;
