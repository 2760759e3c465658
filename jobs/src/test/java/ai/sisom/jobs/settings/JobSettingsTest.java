package ai.sisom.jobs.settings;

import ai.sisom.reference.DOutVariant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class JobSettingsTest {
    @TempDir
    Path tmp;

    @Test
    void overridesWinOverTheFileAndSparkKeysAreSeparated() throws Exception {
        Path f = tmp.resolve("c.properties");
        Files.writeString(f, "sisom.q=5\nspark.master=local[1]\n");
        JobSettings c = JobSettings.load(f, List.of("sisom.q=7"));
        assertEquals(7, c.get(Settings.Q));
        assertEquals("local[1]", c.sparkSettings().get("spark.master"));
        assertFalse(c.sparkSettings().containsKey("sisom.q"));
    }

    @Test
    void valuesAreParsedIntoTheirTypesAndDefaultsApply() throws Exception {
        JobSettings c = JobSettings.load(null, List.of("sisom.dOut=ANCHOR", "sisom.selection=greedy",
                "sisom.subset.delta=1.5", "sisom.subset.size=20", "sisom.input.labeled=yes"));
        assertEquals(DOutVariant.ANCHOR, c.get(Settings.D_OUT));
        assertEquals(SelectionMode.GREEDY, c.get(Settings.SELECTION));
        assertEquals(1.5, c.get(Settings.SUBSET_DELTA));
        assertEquals(20, c.get(Settings.SUBSET_SIZE));
        assertTrue(c.get(Settings.INPUT_LABELED));
        assertEquals(100, c.get(Settings.Q), "the registry's default");
        assertNull(c.get(Settings.LAMBDA), "no default: not set");
        assertFalse(c.isSet(Settings.Q));
    }

    @Test
    void credentialsAreMaskedWhenSettingsArePrinted() throws Exception {
        JobSettings c = JobSettings.load(null, List.of("spark.hadoop.fs.s3a.secret.key=abc123",
                "spark.hadoop.fs.s3a.access.key=AKIA1", "sisom.q=3", "spark.hadoop.fs.s3a.session.token=tok"));
        String d = c.describe();
        assertFalse(d.contains("abc123") || d.contains("AKIA1") || d.contains("tok\n"), d);
        assertTrue(d.contains("sisom.q = 3"), d);
    }

    @Test
    void badValuesNameTheKeyTheValueAndWhereItCameFrom() throws Exception {
        String q = assertThrows(SettingsException.class, () -> JobSettings.load(null, List.of("sisom.q=many")))
                .getMessage();
        assertTrue(q.contains("sisom.q") && q.contains("many") && q.contains("--set"), q);
        Path f = tmp.resolve("c.properties");
        Files.writeString(f, "sisom.input.labeled=perhaps\n");
        String b = assertThrows(SettingsException.class, () -> JobSettings.load(f, List.of())).getMessage();
        assertTrue(b.contains("sisom.input.labeled") && b.contains("perhaps") && b.contains(f.toString()), b);
        for (String bad : List.of("sisom.q=-3", "sisom.lambda=5", "sisom.score=bogus", "sisom.dOut=both",
                "sisom.batchSize=0", "sisom.subset.delta=-1", "sisom.steepness=layer1", "sisom.steepness=layer1:-2",
                "sisom.report.ood=-1", "sisom.resize=nearest")) {
            String key = bad.substring(0, bad.indexOf('='));
            String m = assertThrows(SettingsException.class, () -> JobSettings.load(null, List.of(bad)), bad)
                    .getMessage();
            assertTrue(m.contains(key), m);
        }
        assertThrows(SettingsException.class, () -> JobSettings.load(null, List.of("novalue")));
        assertThrows(SettingsException.class, () -> JobSettings.load(tmp.resolve("missing.properties"), List.of()));
    }

    @Test
    void anUnknownKeyNamesItsSourceAndSuggestsTheNearestKnownKey() throws Exception {
        String fromSet = assertThrows(SettingsException.class,
                () -> JobSettings.load(null, List.of("sisom.outptu=x"))).getMessage();
        assertTrue(fromSet.contains("'sisom.outptu'") && fromSet.contains("--set")
                && fromSet.contains("did you mean 'sisom.output'"), fromSet);
        Path f = tmp.resolve("c.properties");
        Files.writeString(f, "sisom.input.labelColum=cls\n");
        String fromFile = assertThrows(SettingsException.class, () -> JobSettings.load(f, List.of())).getMessage();
        assertTrue(fromFile.contains(f.toString()) && fromFile.contains("did you mean 'sisom.input.labelColumn'"),
                fromFile);
        String far = assertThrows(SettingsException.class,
                () -> JobSettings.load(null, List.of("sisom.somethingElseEntirely=1"))).getMessage();
        assertFalse(far.contains("did you mean"), far);
    }

    @Test
    void settingsThatGoTogetherAreRefusedAlone() {
        String m = assertThrows(SettingsException.class,
                () -> JobSettings.load(null, List.of("sisom.subset.delta=2"))).getMessage();
        assertTrue(m.contains("sisom.subset.delta") && m.contains("sisom.subset.size"), m);
    }

    @Test
    void aMissingRequiredSettingNamesTheCommandThatNeedsIt() throws Exception {
        JobSettings c = JobSettings.load(null, List.of());
        String m = assertThrows(SettingsException.class, () -> c.require(Settings.MODEL, "extract")).getMessage();
        assertTrue(m.contains("sisom.model") && m.contains("extract"), m);
    }

    @Test
    void everyRegisteredKeyIsUniqueDocumentedAndReadByACommand() {
        assertEquals(Settings.ALL.size(), Settings.ALL.stream().map(Setting::key).distinct().count());
        for (Setting<?> s : Settings.ALL) {
            assertTrue(s.key().startsWith("sisom."), s.key());
            assertFalse(s.doc().isBlank(), s.key());
            assertFalse(s.commands().isEmpty(), s.key());
            if (s.defaultText() != null) {
                assertEquals(s.defaultValue(), s.parse(s.defaultText()), s.key() + ": the default parses to itself");
            }
        }
    }

    @Test
    void theConfFileIsFoundOnDiskAsAHadoopUriOrAmongTheFilesShippedWithFiles() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("submitter/conf"));
        Path f = dir.resolve("nightly.properties");
        Files.writeString(f, "sisom.q=11\n");
        // on the driver's disk
        assertEquals(11, JobSettings.load(f.toString(), List.of(), java.util.Map.of()).get(Settings.Q));
        // a Hadoop URI
        assertEquals(11, JobSettings.load(f.toUri().toString(), List.of(), java.util.Map.of()).get(Settings.Q));
        // shipped with --files and named by file name only, as spark-submit hands it to the driver (spark.files)
        java.util.Map<String, String> submit = java.util.Map.of("spark.files",
                tmp.resolve("other.txt").toUri() + "," + f.toUri());
        JobSettings shipped = JobSettings.load("nightly.properties", List.of(), submit);
        assertEquals(11, shipped.get(Settings.Q));
        // YARN's #alias
        JobSettings alias = JobSettings.load("job.properties", List.of(),
                java.util.Map.of("spark.yarn.dist.files", f.toUri() + "#job.properties"));
        assertEquals(11, alias.get(Settings.Q));
        // a bad value names the shipped file and where it came from
        Files.writeString(f, "sisom.q=-1\n");
        String m = assertThrows(SettingsException.class, () -> JobSettings.load("nightly.properties", List.of(), submit))
                .getMessage();
        assertTrue(m.contains("in nightly.properties (shipped with --files from " + f.toUri()), m);
        // nowhere: the message says where it looked
        String missing = assertThrows(SettingsException.class,
                () -> JobSettings.load("absent.properties", List.of(), submit)).getMessage();
        assertTrue(missing.contains("configuration file not found: absent.properties") && missing.contains("spark.files = "),
                missing);
        assertTrue(assertThrows(SettingsException.class, () -> JobSettings.load(tmp.resolve("gone.properties").toUri()
                .toString(), List.of(), java.util.Map.of())).getMessage().contains("configuration file not found"));
    }
}
