package ai.sisom.jobs.output;

import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;

/**
 * The score table and the selection as catalog tables, beside the result directory: each replaced by the run's
 * (overwrite). Written from the staged result as the last step before the directory is committed, so a run that
 * fails earlier changes neither. How atomic the replacement itself is depends on the table format: Delta and
 * Iceberg overwrite in one commit; a plain Parquet table is rewritten in place.
 *
 * @param scores    the score table's name, or null
 * @param selection the selection's table name, or null
 * @param format    the table format ({@code delta}, {@code iceberg}, {@code parquet}, ...); null: Spark's default
 *                  ({@code spark.sql.sources.default})
 */
public record OutputTables(String scores, String selection, String format) {
    /** The catalog tables the settings name (none by default). */
    public static OutputTables from(ai.sisom.jobs.settings.JobSettings s) {
        return new OutputTables(s.get(ai.sisom.jobs.settings.Settings.OUTPUT_SCORES_TABLE),
                s.get(ai.sisom.jobs.settings.Settings.OUTPUT_SELECTION_TABLE),
                s.get(ai.sisom.jobs.settings.Settings.OUTPUT_TABLE_FORMAT));
    }

    public boolean any() {
        return scores != null || selection != null;
    }

    public void write(SparkSession spark, AtomicOutput staged, PrintStream out) throws Exception {
        if (scores != null) {
            save(spark, staged.staged("scores"), scores);
            out.println("  scores table: " + scores);
        }
        if (selection != null) {
            save(spark, staged.staged("selection"), selection);
            out.println("  selection table: " + selection);
        }
    }

    /** Spark's built-in file formats: tables of the session catalog without a replace of their own. */
    private static final java.util.Set<String> FILE_FORMATS = java.util.Set.of("parquet", "orc", "csv", "json", "avro",
            "text");

    private void save(SparkSession spark, String dir, String table) throws Exception {
        var df = spark.read().parquet(dir);
        if (format != null && !FILE_FORMATS.contains(format.toLowerCase(java.util.Locale.ROOT))) {
            // Delta, Iceberg and other catalog formats: create or replace in one commit
            try {
                df.writeTo(table).using(format).createOrReplace();
            } catch (Exception e) { // AnalysisException, undeclared in Scala
                if (!(e instanceof org.apache.spark.sql.AnalysisException)
                        || !String.valueOf(e.getMessage()).contains("does not support truncate")) {
                    throw e;
                }
                // Spark 3.5.9 writes a replace as a truncating overwrite that Delta 3.3's staged table does not
                // accept: there the replacement is a drop and a create, not one commit
                spark.sql("DROP TABLE IF EXISTS " + table);
                df.writeTo(table).using(format).create();
            }
            return;
        }
        DataFrameWriter<Row> w = df.write().mode(SaveMode.Overwrite);
        if (format != null) {
            w = w.format(format);
        }
        w.saveAsTable(table);
    }
}
