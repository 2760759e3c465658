package ai.sisom;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Locates the repository's bundled samples from a test, wherever Maven runs it. */
public final class TestPaths {
    private TestPaths() {}

    public static Path repoRoot() {
        String prop = System.getProperty("sisom.repo.root");
        if (prop != null && Files.isDirectory(Paths.get(prop, "data-samples"))) {
            return Paths.get(prop);
        }
        for (Path p = Paths.get("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("data-samples")) && Files.exists(p.resolve("pom.xml"))) {
                return p;
            }
        }
        throw new IllegalStateException("cannot find the repository root (data-samples/) from " + Paths.get("").toAbsolutePath());
    }

    public static Path sampleModel() {
        return repoRoot().resolve("data-samples/model/fmnist_resnet18w16.pt");
    }

    public static Path golden(String name) {
        return repoRoot().resolve("common/src/test/resources/golden").resolve(name);
    }
}
