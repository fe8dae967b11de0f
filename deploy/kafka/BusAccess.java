// Who may do what on the bus: creates (or updates) the Kafka principals' SCRAM-SHA-512 credentials and makes
// their ACLs exactly those given.
//
//   java -cp 'libs/*:<compiled>' BusAccess <bootstrap host:port> <SCRAM-SHA-512|PLAIN>   < spec
//
// The admin logs in as KAFKA_ADMIN_USER / KAFKA_ADMIN_PASSWORD (environment, never the command line), with
// SCRAM-SHA-512, or with PLAIN while devstack gives the admin its SCRAM credential (a data folder formatted before
// authentication, or a new admin password: devstack/kafka.py). The spec, one line each (written by devstack/kafka.py, `access_spec`):
//   user <name> <password>
//   acl <principal> <TOPIC|GROUP> <LITERAL|PREFIXED> <resource name> <OPERATION>
// Every principal named by a `user` line ends up with exactly the spec's ACLs (others of its are deleted);
// running it again changes nothing. Used by devstack (`make up`, the test stack).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class BusAccess {
    public static void main(String[] args) throws Exception {
        String user = System.getenv().getOrDefault("KAFKA_ADMIN_USER", "admin");
        String password = System.getenv("KAFKA_ADMIN_PASSWORD");
        if (args.length != 2 || password == null) {
            System.err.println("usage: KAFKA_ADMIN_PASSWORD=... BusAccess <bootstrap host:port> <mechanism> < spec");
            System.exit(2);
        }
        List<UserScramCredentialAlteration> users = new ArrayList<>();
        Set<String> principals = new HashSet<>();
        Set<AclBinding> wanted = new HashSet<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 0 || f[0].isEmpty() || f[0].startsWith("#")) continue;
            if (f[0].equals("user") && f.length == 3) {
                users.add(new UserScramCredentialUpsertion(
                        f[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), f[2]));
                principals.add("User:" + f[1]);
            } else if (f[0].equals("acl") && f.length == 6) {
                wanted.add(new AclBinding(
                        new ResourcePattern(ResourceType.valueOf(f[2]), f[4], PatternType.valueOf(f[3])),
                        new AccessControlEntry("User:" + f[1], "*", AclOperation.valueOf(f[5]), AclPermissionType.ALLOW)));
            } else {
                throw new IllegalArgumentException("bad spec line: " + line);
            }
        }
        Properties props = new Properties();
        String module = args[1].equals("PLAIN")
                ? "org.apache.kafka.common.security.plain.PlainLoginModule"
                : "org.apache.kafka.common.security.scram.ScramLoginModule";
        props.put("bootstrap.servers", args[0]);
        props.put("security.protocol", "SASL_PLAINTEXT");
        props.put("sasl.mechanism", args[1]);
        props.put("sasl.jaas.config", module + " required username=\"" + user + "\" password=\"" + password + "\";");
        props.put("default.api.timeout.ms", "120000");
        props.put("request.timeout.ms", "10000");
        try (Admin admin = Admin.create(props)) {
            admin.alterUserScramCredentials(users).all().get();
            Set<AclBinding> existing = new HashSet<>(admin.describeAcls(AclBindingFilter.ANY).values().get());
            List<AclBindingFilter> stale = new ArrayList<>();
            for (AclBinding binding : existing) {
                if (principals.contains(binding.entry().principal()) && !wanted.contains(binding)) {
                    stale.add(binding.toFilter());
                }
            }
            if (!stale.isEmpty()) admin.deleteAcls(stale).all().get();
            List<AclBinding> missing = new ArrayList<>();
            for (AclBinding binding : wanted) if (!existing.contains(binding)) missing.add(binding);
            if (!missing.isEmpty()) admin.createAcls(missing).all().get();
            System.out.printf("bus access: %d principals, %d ACLs (%d added, %d removed)%n",
                    users.size(), wanted.size(), missing.size(), stale.size());
        }
    }
}
