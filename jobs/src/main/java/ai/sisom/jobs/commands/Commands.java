package ai.sisom.jobs.commands;

import java.util.List;

/** Every command, in the order {@code --help} lists them. */
public final class Commands {
    private Commands() {}

    public static final List<Command> ALL = List.of(new RunCommand(), new ExtractCommand(), new ImportCommand(),
            new BuildReferenceCommand(), new ScoreCommand(), new LfosaSelectCommand());

    public static Command byName(String name) {
        return ALL.stream().filter(c -> c.name().equals(name)).findFirst().orElse(null);
    }
}
