package dev.toolgate.cli;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code toolgate completion}: prints the bash (and zsh, via bashcompinit) completion script of every command. */
@Command(name = "completion", mixinStandardHelpOptions = true,
        description = {"Print a bash completion script for toolgate.",
                "Use it with: source <(./toolgate completion)"})
final class CompletionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().print(AutoComplete.bash("toolgate", spec.root().commandLine()));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
