package dev.toolgate.cli;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A CLI command that makes calls on one control API service: opens the mTLS channel of {@link ControlOptions}, gives
 * the subclass a stub with the command's deadline, and turns what goes wrong into one line and an exit code
 * (refused by the sidecar: 1; unusable options or SVID files: 2). The channel is closed however the call ends.
 *
 * @param <S> the service's blocking stub
 */
abstract class ControlRpc<S extends AbstractStub<S>> implements Callable<Integer> {
    @Mixin
    ControlOptions control;

    @Spec
    CommandSpec spec;

    private final String group;
    private final Function<Channel, S> stubs;

    /**
     * @param group the command group, for messages ({@code task}, {@code approvals})
     * @param stubs the service's stub factory ({@code TaskServiceGrpc::newBlockingStub})
     */
    ControlRpc(String group, Function<Channel, S> stubs) {
        this.group = group;
        this.stubs = stubs;
    }

    /** Makes the command's calls; returns the exit code. */
    abstract int call(S stub, PrintWriter out);

    @Override
    public final Integer call() {
        String name = group + " " + spec.name();
        PrintWriter err = spec.commandLine().getErr();
        ManagedChannel channel;
        S stub;
        try {
            channel = control.channel();
            stub = stubs.apply(channel).withDeadlineAfter(control.timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            return ControlOptions.unusable(err, name, e);
        }
        try {
            PrintWriter out = spec.commandLine().getOut();
            int exit = call(stub, out);
            out.flush();
            return exit;
        } catch (StatusRuntimeException e) {
            return control.refused(err, name, e);
        } catch (IllegalArgumentException e) {
            return ControlOptions.unusable(err, name, e);
        } finally {
            ControlOptions.close(channel);
        }
    }
}
