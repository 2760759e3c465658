package ai.sisom.jobs;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Maven repositories served over HTTP on loopback (the JDK's own server), as a team's repository manager or a mirror
 * of Central serves them to a cluster: GET and HEAD of files, 404 for anything else.
 */
final class HttpRepository implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService pool = Executors.newFixedThreadPool(4);
    /** Every path answered 200, for assertions on where artifacts came from. */
    final Set<String> served = ConcurrentHashMap.newKeySet();
    /** Every path passed on to an upstream repository and answered 200 there. */
    final Set<String> proxied = ConcurrentHashMap.newKeySet();

    HttpRepository() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(pool);
        server.start();
    }

    /**
     * Serves {@code roots}, searched in order, at {@code context} ("/team/"), less the paths under
     * {@code excludedPrefixes}; returns the URL, as {@code --repositories} or DEFAULT_ARTIFACT_REPOSITORY take it.
     */
    String serve(String context, List<Path> roots, String... excludedPrefixes) {
        return serveProxying(context, roots, null, excludedPrefixes);
    }

    /**
     * As above; a file none of the roots holds is passed on to {@code upstream} (a URL ending in "/"), as a proxying
     * repository manager does: a local Maven repository holds the POMs of versions Maven's mediation did not pick,
     * but not their jars, which Ivy's own conflict resolution may ask for.
     */
    String serveProxying(String context, List<Path> roots, String upstream, String... excludedPrefixes) {
        server.createContext(context, ex -> {
            try (ex) {
                answer(ex, context, roots, upstream, List.of(excludedPrefixes));
            }
        });
        return "http://127.0.0.1:" + server.getAddress().getPort() + context;
    }

    private void answer(HttpExchange ex, String context, List<Path> roots, String upstream, List<String> excluded)
            throws IOException {
        String method = ex.getRequestMethod();
        if (!(method.equals("GET") || method.equals("HEAD"))) {
            ex.sendResponseHeaders(405, -1);
            return;
        }
        String rel = ex.getRequestURI().getPath().substring(context.length());
        if (excluded.stream().anyMatch(rel::startsWith)) {
            ex.sendResponseHeaders(404, -1);
            return;
        }
        Optional<Path> file = roots.stream().map(root -> root.resolve(rel).normalize())
                .filter(f -> roots.stream().anyMatch(f::startsWith) && Files.isRegularFile(f)).findFirst();
        if (file.isPresent()) {
            served.add(context + rel);
            respond(ex, method, Files.size(file.get()), () -> Files.newInputStream(file.get()));
        } else if (upstream != null) {
            proxy(ex, method, upstream + rel, context + rel);
        } else {
            ex.sendResponseHeaders(404, -1);
        }
    }

    private void proxy(HttpExchange ex, String method, String url, String path) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setRequestMethod(method);
        c.setConnectTimeout(30_000);
        c.setReadTimeout(120_000);
        int code;
        try {
            code = c.getResponseCode();
        } catch (IOException unreachable) {
            code = 404;
        }
        if (code != 200) {
            ex.sendResponseHeaders(404, -1);
            return;
        }
        proxied.add(path);
        respond(ex, method, c.getContentLengthLong(), c::getInputStream);
    }

    private interface Body {
        InputStream open() throws IOException;
    }

    /** A 200 with {@code size} bytes (-1: not known) of {@code body}, or only the headers for HEAD. */
    private static void respond(HttpExchange ex, String method, long size, Body body) throws IOException {
        if (method.equals("HEAD")) {
            // the JDK server never sends a length for HEAD itself
            if (size >= 0) {
                ex.getResponseHeaders().set("Content-Length", Long.toString(size));
            }
            ex.sendResponseHeaders(200, -1);
            return;
        }
        // the JDK server's lengths: 0 means chunked (an unknown size), -1 no body
        ex.sendResponseHeaders(200, size < 0 ? 0 : size == 0 ? -1 : size);
        try (InputStream in = body.open(); OutputStream out = ex.getResponseBody()) {
            in.transferTo(out);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
