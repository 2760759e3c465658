package ai.sisom.jobs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class JobConfigTest {
    @TempDir
    Path tmp;

    @Test
    void overridesWinOverTheFileAndSparkKeysAreSeparated() throws Exception {
        Path f = tmp.resolve("c.properties");
        Files.writeString(f, "sisom.q=5\nspark.master=local[1]\n");
        JobConfig c = JobConfig.load(f, List.of("sisom.q=7"));
        assertEquals(7, c.getInt("sisom.q", 0));
        assertEquals("local[1]", c.sparkSettings().get("spark.master"));
        assertFalse(c.sparkSettings().containsKey("sisom.q"));
    }

    @Test
    void credentialsAreMaskedWhenSettingsArePrinted() throws Exception {
        JobConfig c = JobConfig.load(null, List.of("spark.hadoop.fs.s3a.secret.key=abc123", "spark.hadoop.fs.s3a.access.key=AKIA1",
                "sisom.q=3", "spark.hadoop.fs.s3a.session.token=tok"));
        String d = c.describe();
        assertFalse(d.contains("abc123") || d.contains("AKIA1") || d.contains("tok\n"), d);
        assertTrue(d.contains("sisom.q = 3"), d);
    }

    @Test
    void badValuesNameTheKey() throws Exception {
        JobConfig c = JobConfig.load(null, List.of("sisom.q=many", "sisom.input.labeled=perhaps"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> c.getInt("sisom.q", 1)).getMessage().contains("sisom.q"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> c.getBoolean("sisom.input.labeled", false))
                .getMessage().contains("sisom.input.labeled"));
        assertThrows(IllegalArgumentException.class, () -> JobConfig.load(null, List.of("novalue")));
        assertThrows(IllegalArgumentException.class, () -> JobConfig.load(tmp.resolve("missing.properties"), List.of()));
    }
}
