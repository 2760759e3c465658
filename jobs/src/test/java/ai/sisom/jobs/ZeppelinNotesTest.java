package ai.sisom.jobs;

import ai.djl.util.JsonUtils;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every Zeppelin note under notebooks/ is valid note JSON, and every SQL paragraph runs against the outputs of two
 * sample runs ("previous" and today), with the views registered exactly as the note's %spark paragraph does.
 */
class ZeppelinNotesTest {
    private static final Pattern VIEW = Pattern.compile("\\$(\\w+)/([\\w.]+)\"\\)\\.createOrReplaceTempView\\(\"(\\w+)\"\\)");
    private static final Pattern FORM = Pattern.compile("\\$\\{(\\w+)=([^}]*)}");
    private static SparkSession spark;
    private static Path root;
    private static Path runs;

    @BeforeAll
    static void start() throws Exception {
        root = JobTests.repoRoot();
        spark = JobTests.localSpark("sisom-zeppelin-test");
        runs = Files.createTempDirectory("sisom-zeppelin");
        String[] base = {"run", "--conf", root.resolve("conf/local-samples.properties").toString(),
                "--set", "sisom.model=" + root.resolve("data-samples/model/fmnist_resnet18w16.pt"),
                "--set", "sisom.labeled.path=" + root.resolve("data-samples/labeled/with-unknowns.csv"),
                "--set", "sisom.input.path=" + root.resolve("data-samples/pool/parquet/data"),
                "--set", "sisom.input.format=parquet", "--set", "sisom.work=" + runs.resolve("work"),
                "--set", "sisom.steepness=layer1:0.05,layer2:1,layer3:10,avgpool:50"};
        run(base, "sisom.output=" + runs.resolve("previous"), "sisom.q=20");
        run(base, "sisom.output=" + runs.resolve("results"), "sisom.q=30", "sisom.lambda=0.3");
    }

    private static void run(String[] base, String... more) throws Exception {
        List<String> a = new java.util.ArrayList<>(List.of(base));
        for (String m : more) {
            a.add("--set");
            a.add(m);
        }
        JobTests.runJob(a.toArray(new String[0]));
    }

    @AfterAll
    static void stop() throws Exception {
        spark.stop();
        JobTests.deleteTree(runs);
    }

    private static List<Path> notes() throws Exception {
        try (Stream<Path> s = Files.list(root.resolve("notebooks"))) {
            return s.filter(p -> p.toString().endsWith(".zpln")).sorted().toList();
        }
    }

    @Test
    void everyNoteIsValidZeppelinJsonWithKnownInterpreters() throws Exception {
        List<Path> notes = notes();
        assertFalse(notes.isEmpty());
        for (Path p : notes) {
            JsonObject note;
            try (Reader r = Files.newBufferedReader(p)) {
                note = JsonUtils.GSON.fromJson(r, JsonObject.class);
            }
            for (String key : List.of("paragraphs", "name", "id", "config", "defaultInterpreterGroup")) {
                assertTrue(note.has(key), p + " lacks " + key);
            }
            Set<String> ids = new HashSet<>();
            for (JsonElement e : note.getAsJsonArray("paragraphs")) {
                JsonObject para = e.getAsJsonObject();
                assertTrue(ids.add(para.get("id").getAsString()), "duplicate paragraph id in " + p);
                assertTrue(para.has("config") && para.getAsJsonObject("config").has("editorSetting"), p.toString());
                String text = para.get("text").getAsString();
                assertTrue(text.matches("(?s)%(md|spark|sql|spark\\.sql|spark\\.pyspark)\\b.*"), "interpreter of: " + text);
            }
        }
    }

    @Test
    void everySqlParagraphRunsAgainstTwoSampleRuns() throws Exception {
        for (Path p : notes()) {
            JsonObject note;
            try (Reader r = Files.newBufferedReader(p)) {
                note = JsonUtils.GSON.fromJson(r, JsonObject.class);
            }
            int sql = 0;
            for (JsonElement e : note.getAsJsonArray("paragraphs")) {
                String text = e.getAsJsonObject().get("text").getAsString();
                if (text.startsWith("%spark\n") || text.startsWith("%spark ")) {
                    registerViews(text);
                } else if (text.startsWith("%sql") || text.startsWith("%spark.sql")) {
                    String query = FORM.matcher(text.substring(text.indexOf('\n') + 1)).replaceAll("$2");
                    List<Row> rows = spark.sql(query).collectAsList();
                    assertFalse(rows.isEmpty(), "no rows from:\n" + query);
                    sql++;
                }
            }
            assertTrue(sql > 0, p + " has no SQL paragraph");
        }
    }

    /**
     * Zeppelin's own note model (zeppelin-zengine's {@code Note.fromJson}, as Zeppelin imports a note) parses every
     * note, and every chart's keys, groups and values name a column of its query's result at the index Zeppelin's
     * pivot reads (the index is what Zeppelin uses; a wrong one charts another column or drops the values).
     */
    @Test
    void everyChartPointsAtRealColumnsOfItsQueryInZeppelinsOwnNoteModel() throws Exception {
        for (Path p : notes()) {
            org.apache.zeppelin.notebook.Note note = org.apache.zeppelin.notebook.Note.fromJson("sisom-test",
                    Files.readString(p));
            assertFalse(note.getParagraphs().isEmpty(), p.toString());
            int charts = 0;
            for (org.apache.zeppelin.notebook.Paragraph para : note.getParagraphs()) {
                assertFalse(para.getText().contains("z.input("), "z.input is deprecated (z.textbox): " + para.getId());
                String intp = para.getIntpText();
                if (intp.equals("spark")) {
                    registerViews(para.getText());
                    continue;
                }
                if (!intp.equals("sql") && !intp.equals("spark.sql")) {
                    continue;
                }
                String query = FORM.matcher(para.getScriptText()).replaceAll("$2");
                List<String> columns = List.of(spark.sql(query).columns());
                Object results = para.getConfig().get("results");
                if (!(results instanceof java.util.Map<?, ?> byResult)) {
                    continue;
                }
                for (Object r : byResult.values()) {
                    Object graph = ((java.util.Map<?, ?>) r).get("graph");
                    if (!(graph instanceof java.util.Map<?, ?> g) || "table".equals(g.get("mode"))) {
                        continue;
                    }
                    charts++;
                    assertFalse(((List<?>) g.get("values")).isEmpty(), para.getId() + ": a chart without values");
                    for (String role : List.of("keys", "groups", "values")) {
                        for (Object c : (List<?>) g.get(role)) {
                            java.util.Map<?, ?> col = (java.util.Map<?, ?>) c;
                            int index = ((Number) col.get("index")).intValue();
                            assertTrue(index >= 0 && index < columns.size(), para.getId() + " " + role + " " + col);
                            assertEquals(col.get("name"), columns.get(index), para.getId() + ": chart " + role
                                    + " points at column " + index + " of " + columns);
                        }
                    }
                }
            }
            assertTrue(charts > 0, p + " has no chart");
        }
    }

    /** Does what the note's Scala paragraph does, from its own text: $results/x and $previous/x as views. */
    private static void registerViews(String scala) {
        Matcher m = VIEW.matcher(scala);
        int n = 0;
        while (m.find()) {
            String dir = runs.resolve(m.group(1)).resolve(m.group(2)).toString();
            var reader = m.group(2).endsWith(".json")
                    ? spark.read().option("multiLine", true).json(dir) : spark.read().parquet(dir);
            reader.createOrReplaceTempView(m.group(3));
            n++;
        }
        assertEquals(5, n, "views registered from the note's own text");
    }
}
