package dev.toolgate.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/egress-lock/toolgate-egress-lock without touching the machine: --dry-run prints the rules, bad arguments
 * are refused. EgressLockNetnsTest applies the same rules for real.
 */
class EgressLockScriptTest {
    private static final String SCRIPT = Repo.path("deploy/egress-lock/toolgate-egress-lock").toString();

    @Test
    void dryRunPrintsBothFamiliesRejectingAllButTheSidecarUid() {
        Commands.Result r = lock("--dry-run").requireSuccess();
        String uid = String.valueOf(Image.facts().uid());
        assertThat(r.out()).contains("sidecar UID " + uid, "nothing is changed");
        for (String family : List.of("icmp-admin-prohibited", "icmp6-adm-prohibited")) {
            assertThat(r.out()).contains("-j REJECT --reject-with " + family);
        }
        List<String> rules = r.out().lines().filter(l -> l.startsWith("-A TOOLGATE_EGRESS")).toList();
        // Per family: loopback, answers (reply direction only), the sidecar's UID (its connections marked), the tail
        // of its TCP connections (marked, never a SYN), then the rejections; IPv6 also lets neighbour discovery out
        // (the kernel's own packets, no socket owner).
        String reply = "-A TOOLGATE_EGRESS -m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY -j RETURN";
        String mark = "-A TOOLGATE_EGRESS -m owner --uid-owner " + uid
                + " -j CONNMARK --set-xmark 0x10000000/0x10000000";
        String tail = "-A TOOLGATE_EGRESS -p tcp ! --syn -m connmark --mark 0x10000000/0x10000000"
                + " -m conntrack --ctstate ESTABLISHED --ctdir ORIGINAL -j RETURN";
        assertThat(rules).containsSubsequence(
                "-A TOOLGATE_EGRESS -o lo -j RETURN",
                reply,
                mark,
                "-A TOOLGATE_EGRESS -m owner --uid-owner " + uid + " -j RETURN",
                tail,
                "-A TOOLGATE_EGRESS -p tcp -j REJECT --reject-with tcp-reset",
                "-A TOOLGATE_EGRESS -j REJECT --reject-with icmp-admin-prohibited",
                "-A TOOLGATE_EGRESS -o lo -j RETURN",
                reply,
                "-A TOOLGATE_EGRESS -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -m hl --hl-eq 255 -j RETURN",
                mark,
                "-A TOOLGATE_EGRESS -m owner --uid-owner " + uid + " -j RETURN",
                tail,
                "-A TOOLGATE_EGRESS -j REJECT --reject-with icmp6-adm-prohibited");
        assertThat(rules).as("an established connection is never let out by its state alone in the direction it"
                + " was opened").noneMatch(l -> l.contains("ESTABLISHED") && !l.contains("--ctdir"));
        assertThat(rules).noneMatch(l -> l.contains("--dport 53")).as("no DNS unless configured");
    }

    @Test
    void dnsOnlyToTheConfiguredResolversInTheirOwnFamily(@TempDir Path dir) throws Exception {
        Path resolv = dir.resolve("resolv.conf");
        Files.writeString(resolv, "search agents.svc.cluster.local\nnameserver 10.96.0.10\nnameserver fd00::a\n");
        String out = lock("--dry-run", "--uid", "2000", "--allow-uid", "3000", "--allow-dns", "--resolv-conf",
                resolv.toString()).requireSuccess().out();
        String[] families = out.split("# IPv6");
        assertThat(families[0]).contains("-d 10.96.0.10/32 -p udp --dport 53 -j RETURN",
                "-d 10.96.0.10/32 -p tcp --dport 53 -j RETURN", "--uid-owner 2000", "--uid-owner 3000")
                .doesNotContain("fd00::a");
        assertThat(families[1]).contains("-d fd00::a/128 -p udp --dport 53 -j RETURN").doesNotContain("10.96.0.10");
    }

    @Test
    void refusesRootAsTheSidecarAndMalformedArguments() {
        assertThat(lock("--uid", "0")).satisfies(r -> {
            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.err()).contains("--uid: 0 (expected: the sidecar's non-root UID");
        });
        assertThat(lock("--uid", "toolgate").err()).contains("--uid: \"toolgate\" (expected: a numeric UID)");
        assertThat(lock("--dns-server", "dns.example").err()).contains("expected: an IPv4 or IPv6 address");
        assertThat(lock("--drop").err()).contains("unknown argument: --drop");
        assertThat(lock("--help").out()).contains("Usage: toolgate-egress-lock [options]");
    }

    private static Commands.Result lock(String... args) {
        List<String> cmd = new ArrayList<>(List.of(SCRIPT));
        cmd.addAll(List.of(args));
        return Commands.run(cmd);
    }
}
