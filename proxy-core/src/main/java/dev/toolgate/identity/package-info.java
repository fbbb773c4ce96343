/**
 * Workload identity for the sidecar: SPIFFE IDs, X.509-SVIDs, trust bundles, peer verification
 * and the TLS contexts built from them.
 *
 * <p>Agents and upstreams are identified by the SPIFFE ID in the single URI SAN of their
 * X.509-SVID. {@link dev.toolgate.identity.TlsMaterial} builds Netty contexts whose trust manager
 * enforces the X509-SVID verification rules (one URI SAN, valid ID, leaf not a CA, key usage,
 * bundle chosen by the leaf's own trust domain, PKIX path validation) and, upstream, the expected
 * ID; {@link dev.toolgate.identity.PeerIdentity} then reads the verified caller. Hostname
 * verification is not used. The sidecar's own SVID and bundles come from PEM files
 * ({@link dev.toolgate.identity.FileTlsMaterial}, with one bundle file per trust domain:
 * {@link dev.toolgate.identity.TrustBundleFiles}), a SPIRE agent's Workload API
 * ({@link dev.toolgate.identity.SpireTlsMaterial}), or {@link dev.toolgate.identity.DevCa}, which
 * mints SVIDs for the demo and tests only; the rotating sources swap contexts for new handshakes.
 *
 * <p>Agents that cannot do mTLS may prove their ID with a JWT-SVID instead:
 * {@link dev.toolgate.identity.JwtSvidValidator} checks it by the JWT-SVID rules against the
 * {@link dev.toolgate.identity.JwtBundles} of the subject's own trust domain (streamed by SPIRE, read from JWKS
 * files, or the dev CA's JWT key), and {@link dev.toolgate.identity.IdentityProof} records which proof was used.
 *
 * <p>Everything here fails closed: a certificate that breaks any rule fails the handshake, and
 * no method returns a partially valid value.
 */
package dev.toolgate.identity;
