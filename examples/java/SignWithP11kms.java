import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Security;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Signs with keys held by p11kms through Java's SunPKCS11 provider and verifies each
 * signature with the certificate's public key through the JDK's own providers.
 *
 * Usage: java SignWithP11kms.java CONFIG PIN ALIAS=ALGORITHM...
 *   e.g. java SignWithP11kms.java p11kms.cfg 1234 rsa1=SHA256withRSA ec1=SHA256withECDSA
 *
 * Prints "pid <n>" first (the test finds this JVM's lines in the module's log by it), then
 * one "OK ..." line per alias, and exits 0 only if every alias signed and verified;
 * otherwise prints "FAIL ..." and exits 1.
 */
public class SignWithP11kms {
  public static void main(String[] args) {
    System.out.println("pid " + ProcessHandle.current().pid());
    if (args.length < 3) {
      System.out.println("FAIL usage: SignWithP11kms CONFIG PIN ALIAS=ALGORITHM...");
      System.exit(2);
    }
    try {
      run(args);
    } catch (Throwable e) {
      System.out.println("FAIL " + e);
      e.printStackTrace(System.out);
      System.exit(1);
    }
  }

  private static void run(String[] args) throws Exception {
    Provider p11 = Security.getProvider("SunPKCS11").configure(args[0]);
    System.out.println("provider " + p11.getName());

    // Loading the keystore with the PIN is SunPKCS11's C_Login.
    KeyStore ks = KeyStore.getInstance("PKCS11", p11);
    ks.load(null, args[1].toCharArray());
    List<String> aliases = Collections.list(ks.aliases());
    Collections.sort(aliases);
    System.out.println("aliases " + String.join(",", aliases));

    byte[] message = ("p11kms signs this through SunPKCS11 " + System.nanoTime()).getBytes(StandardCharsets.UTF_8);
    List<String> failures = new ArrayList<>();
    for (int i = 2; i < args.length; i++) {
      String[] pair = args[i].split("=", 2);
      String alias = pair[0];
      String algorithm = pair[1];
      if (!ks.isKeyEntry(alias)) {
        failures.add(alias + ": no key entry");
        continue;
      }
      PrivateKey key = (PrivateKey) ks.getKey(alias, null);
      Certificate cert = ks.getCertificate(alias);
      if (key == null || cert == null) {
        failures.add(alias + ": key " + key + ", certificate " + cert);
        continue;
      }

      Signature signer = Signature.getInstance(algorithm, p11);
      signer.initSign(key);
      signer.update(message);
      byte[] signature = signer.sign();

      // The verifying side never touches the token: the certificate's key, the default providers.
      PublicKey publicKey = cert.getPublicKey();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      String verifierProvider = verifier.getProvider().getName();
      if (verifierProvider.startsWith("SunPKCS11")) {
        failures.add(alias + ": the verifier came from " + verifierProvider);
        continue;
      }
      verifier.update(message);
      boolean valid = verifier.verify(signature);

      // The same signature over other data must not verify.
      verifier.initVerify(publicKey);
      verifier.update("a different message".getBytes(StandardCharsets.UTF_8));
      boolean forged = verifier.verify(signature);

      if (!valid || forged) {
        failures.add(alias + ": " + algorithm + " signature valid=" + valid + " wrong-message-valid=" + forged);
        continue;
      }
      String subject = cert instanceof X509Certificate ? ((X509Certificate) cert).getSubjectX500Principal().getName() : "?";
      System.out.println("OK " + alias + " " + algorithm + " key=" + key.getAlgorithm() + " signer=" + signer.getProvider().getName()
          + " verifier=" + verifierProvider + " subject=" + subject + " signature-bytes=" + signature.length);
    }

    if (!failures.isEmpty()) {
      for (String f : failures) System.out.println("FAIL " + f);
      System.exit(1);
    }
    System.out.println("ALL OK");
  }
}
