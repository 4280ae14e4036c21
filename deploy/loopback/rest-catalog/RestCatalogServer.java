/*
 * The loopback platform's Iceberg REST catalog: the Iceberg project's own REST server
 * (RESTCatalogAdapter + RESTCatalogServlet over a JdbcCatalog, as in the apache/iceberg-rest-fixture
 * image) behind a bearer-token check, on one address.
 *
 * Why not that image's RESTCatalogServer main: it binds every interface with no authentication,
 * so a gateway in front would leave an open catalog beside it. Here the same servlet runs behind
 * a filter that accepts only the realm's tokens (nimbus-jose-jwt: RS256 signature by the realm's
 * JWKS, exact issuer, the catalog's audience, expiry without clock skew), on 127.0.0.1 only.
 *
 * Usage: java -cp <classpath.lock's jars> RestCatalogServer <properties file>
 * Keys: server.host, server.port, auth.issuer, auth.jwks-uri, auth.audience; catalog.* are the
 * JdbcCatalog's properties with the prefix removed. Secrets come from the environment only
 * (PGPASSFILE for PostgreSQL, AWS_* for S3).
 */

import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.rest.RESTCatalogAdapter;
import org.apache.iceberg.rest.RESTCatalogServlet;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class RestCatalogServer {
  private static final Logger LOG = LoggerFactory.getLogger(RestCatalogServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    Properties config = new Properties();
    try (Reader reader = Files.newBufferedReader(Path.of(args[0]), StandardCharsets.UTF_8)) {
      config.load(reader);
    }
    Map<String, String> catalogProperties = new HashMap<>();
    for (String key : config.stringPropertyNames()) {
      if (key.startsWith("catalog.")) {
        catalogProperties.put(key.substring("catalog.".length()), config.getProperty(key));
      }
    }
    String name = required(config, "catalog.name");
    catalogProperties.remove("name");
    // No Hadoop configuration: the catalog's FileIO is S3FileIO (io-impl), not HadoopFileIO.
    Catalog catalog = CatalogUtil.buildIcebergCatalog(name, catalogProperties, null);

    ServletContextHandler context = new ServletContextHandler();
    // Names may hold a '/' (Spark asks for a table "branch_audit/<run>" before it reads that as
    // a branch): the client encodes it as %2F, which Jetty refuses unless told otherwise.
    context.getServletHandler().setDecodeAmbiguousURIs(true);
    context.addServlet(new ServletHolder(new RESTCatalogServlet(new RESTCatalogAdapter(catalog))), "/*");
    BearerTokens tokens =
        new BearerTokens(
            required(config, "auth.issuer"),
            required(config, "auth.jwks-uri"),
            required(config, "auth.audience"));
    context.addFilter(new FilterHolder(tokens), "/*", EnumSet.of(DispatcherType.REQUEST));

    Server server = new Server(new QueuedThreadPool(32, 4));
    HttpConfiguration http = new HttpConfiguration();
    http.setUriCompliance(
        UriCompliance.DEFAULT.with(
            "iceberg-rest", UriCompliance.Violation.AMBIGUOUS_PATH_SEPARATOR));
    http.setSendServerVersion(false);
    ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
    connector.setHost(required(config, "server.host"));
    connector.setPort(Integer.parseInt(required(config, "server.port")));
    server.addConnector(connector);
    server.setHandler(context);
    server.setStopAtShutdown(true);
    server.start();
    LOG.info(
        "Iceberg REST catalog '{}' on http://{}:{} (tokens of {} for audience {})",
        name,
        connector.getHost(),
        connector.getPort(),
        config.getProperty("auth.issuer"),
        config.getProperty("auth.audience"));
    server.join();
  }

  /** A missing key stops the start: an empty audience or issuer would check nothing. */
  private static String required(Properties config, String key) {
    String value = config.getProperty(key, "");
    if (value.isBlank()) {
      throw new IllegalArgumentException(key + " is missing from the configuration file");
    }
    return value;
  }

  /** Refuses every request without a valid bearer token of the realm for the catalog. */
  static final class BearerTokens implements Filter {
    private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();

    BearerTokens(String issuer, String jwksUri, String audience) throws Exception {
      // Keys fetched on first use and again for an unknown key id (rate limited): a rotated
      // realm key is picked up, a forged key id cannot flood Keycloak.
      JWKSource<SecurityContext> keys = JWKSourceBuilder.create(URI.create(jwksUri).toURL()).build();
      processor.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.RS256, keys));
      DefaultJWTClaimsVerifier<SecurityContext> claims =
          new DefaultJWTClaimsVerifier<>(
              audience, new JWTClaimsSet.Builder().issuer(issuer).build(), Set.of("exp", "iat", "sub"));
      claims.setMaxClockSkew(0); // one clock on loopback: an expired token is refused at once
      processor.setJWTClaimsSetVerifier(claims);
    }

    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
        throws IOException, ServletException {
      HttpServletRequest request = (HttpServletRequest) req;
      HttpServletResponse response = (HttpServletResponse) res;
      String header = request.getHeader("Authorization");
      if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
        refuse(request, response, 401, "a bearer token is required");
        return;
      }
      JWTClaimsSet claims;
      try {
        claims = processor.process(header.substring(7).trim(), null);
      } catch (RateLimitReachedException e) {
        // An unknown key id right after a refresh of the realm's keys: not a key of the realm.
        refuse(request, response, 401, "token refused: no key of the realm signed it");
        return;
      } catch (KeySourceException e) {
        refuse(request, response, 503, "cannot fetch the realm's keys: " + e.getMessage());
        return;
      } catch (ParseException | BadJOSEException | JOSEException e) {
        refuse(request, response, 401, "token refused: " + e.getMessage());
        return;
      }
      chain.doFilter(req, res);
      // The servlet's own log (every 4xx with a stack trace) is off: server errors are logged here.
      if (response.getStatus() >= 500) {
        LOG.warn(
            "{} {} by {}: {}",
            request.getMethod(),
            request.getRequestURI(),
            claims.getSubject(),
            response.getStatus());
      }
    }

    private static void refuse(
        HttpServletRequest request, HttpServletResponse response, int code, String message)
        throws IOException {
      // The message may quote the token's claims: no control characters into the log.
      String logged = message.replaceAll("\\p{Cntrl}", "?");
      LOG.info("{} {}: {} ({})", request.getMethod(), request.getRequestURI(), code, logged);
      String type = code == 401 ? "NotAuthorizedException" : "ServiceUnavailableException";
      response.setStatus(code);
      if (code == 401) {
        response.setHeader("WWW-Authenticate", "Bearer");
      }
      response.setContentType("application/json");
      // Iceberg's ErrorResponse, which REST clients parse; the message names no token content.
      Map<String, Object> error = Map.of("message", message, "type", type, "code", code);
      JSON.writeValue(response.getWriter(), Map.of("error", error));
    }
  }
}
