package io.gatewaycsi.cli;

import io.gatewaycsi.common.volume.Parameter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code gateway-csi parameters}: prints the StorageClass parameter table (the README's, from the code). */
@Command(name = "parameters", mixinStandardHelpOptions = true,
        description = "Print the StorageClass parameters gateway-csi accepts, as a Markdown table.")
final class ParametersCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().print(Parameter.markdownTable());
        spec.commandLine().getOut().flush();
        return 0;
    }
}
