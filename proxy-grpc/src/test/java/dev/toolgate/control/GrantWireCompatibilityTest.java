package dev.toolgate.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.api.v1.Grant;
import dev.toolgate.api.v1.RequestedGrant;
import org.junit.jupiter.api.Test;

/**
 * The grant condition's proto field was renamed {@code condition} -> {@code when} without a new number: what a client
 * built against the old name sends (field 3 of RequestedGrant, 4 of Grant) still reads as the condition.
 */
class GrantWireCompatibilityTest {
    @Test
    void theRenamedFieldKeepsItsNumber() throws Exception {
        byte[] requested = {0x1a, 4, 't', 'r', 'u', 'e'}; // field 3, length-delimited: "true"
        assertThat(RequestedGrant.parseFrom(requested).getWhen()).isEqualTo("true");
        assertThat(RequestedGrant.newBuilder().setWhen("true").build().toByteArray()).isEqualTo(requested);
        byte[] granted = {0x22, 4, 't', 'r', 'u', 'e'}; // field 4
        assertThat(Grant.parseFrom(granted).getWhen()).isEqualTo("true");
    }
}
