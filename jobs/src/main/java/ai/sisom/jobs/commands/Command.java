package ai.sisom.jobs.commands;

import ai.sisom.jobs.settings.JobSettings;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;

/** One command of the command line. */
public interface Command {
    /** The name users type. */
    String name();

    /** One line for {@code --help}. */
    String summary();

    /** Parses and checks what this command needs from the settings; starts nothing, so errors come before Spark. */
    Job prepare(JobSettings settings);

    /** A prepared command, ready to run. */
    @FunctionalInterface
    interface Job {
        /** Runs; returns the process exit code. */
        int run(SparkSession spark, PrintStream out) throws Exception;
    }
}
