package dev.toolgate.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.config.SidecarConfig;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * What a shipped pod must get right about state and defaults, for {@link PodChecks}: the sidecar fails closed (a
 * policy directory is named, the opt-out is off), the task journal is on a writable volume (live tasks survive a
 * restart of the container), and the audit trail's retention keeps it below its emptyDir's {@code sizeLimit} (past
 * it the kubelet evicts the whole pod).
 */
final class StateChecks {
    private StateChecks() {}

    static void check(String source, PodSpec pod, Container sidecar, SidecarConfig cfg,
                      Function<Path, String> podPath) {
        assertThat(cfg.policies()).as("%s: a policy directory is named (without one the sidecar refuses every task;"
                + " the shipped directory denies by default)", source).isNotEmpty();
        assertThat(cfg.unrestrictedWithoutPolicy()).as("%s: never the opt-out of failing closed", source).isFalse();

        Path journal = cfg.tasks().journal();
        assertThat(journal).as("%s: tasks.journal is set (live tasks survive a container restart)", source)
                .isNotNull();
        VolumeMount journalMount = PodChecks.mountAt(sidecar, podPath.apply(journal.getParent())).orElseThrow(() ->
                new AssertionError(source + ": task journal " + podPath.apply(journal) + " is not on a volume"));
        assertThat(journalMount.getReadOnly()).as("%s: the journal's volume is writable", source)
                .isNotEqualTo(Boolean.TRUE);
        Volume journalVolume = volume(source, pod, journalMount.getName());
        assertThat(journalVolume.getConfigMap() == null && journalVolume.getSecret() == null)
                .as("%s: the journal is on a writable kind of volume", source).isTrue();

        VolumeMount auditMount = PodChecks.mountAt(sidecar, podPath.apply(cfg.audit().file().getParent()))
                .orElseThrow();
        assertThat(auditMount.getName()).as("%s: journal and audit trail on volumes of their own", source)
                .isNotEqualTo(journalMount.getName());
        Volume auditVolume = volume(source, pod, auditMount.getName());
        if (auditVolume.getEmptyDir() != null) {
            Quantity limit = auditVolume.getEmptyDir().getSizeLimit();
            assertThat(limit).as("%s: the audit emptyDir has a sizeLimit", source).isNotNull();
            long bytes = Quantity.getAmountInBytes(limit).longValueExact();
            long maxFileBytes = cfg.audit().maxFileBytes();
            long byTotal = cfg.audit().maxTotalBytes() > 0 ? cfg.audit().maxTotalBytes() : Long.MAX_VALUE;
            long byCount = cfg.audit().maxFiles() > 0 ? (cfg.audit().maxFiles() + 1L) * maxFileBytes : Long.MAX_VALUE;
            assertThat(Math.min(byTotal, byCount)).as("%s: audit retention (maxTotalBytes %s, maxFiles %s of %s"
                            + " bytes) keeps the trail below the volume's sizeLimit %s", source,
                    cfg.audit().maxTotalBytes(), cfg.audit().maxFiles(), maxFileBytes, limit)
                    .isLessThan(bytes);
        }
    }

    private static Volume volume(String source, PodSpec pod, String name) {
        return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(source + ": no volume " + name));
    }
}
