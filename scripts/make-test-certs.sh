#!/usr/bin/env bash
# Regenerates the TEST-ONLY certificates of the TLS tests (transport-netty and examples/kv):
#   scripts/make-test-certs.sh
# Needs the JDK's keytool and openssl (only to write the PKCS#8 PEM keys).
#
# They are committed rather than made at test time because keytool takes about a second a call
# here and the set below takes some 40 calls; they are valid until about 2126. Never use them
# for anything but tests: their private keys are public.
#
# ca              the test CA (ca.pem; trust.p12 holds it as the only trusted certificate)
# node1..node3    signed by ca, SAN ip:127.0.0.1 and dns:localhost, EKU serverAuth+clientAuth;
#                 nodeN.p12 (key + chain), node1 also as PEM (node1.crt.pem chain, node1.key.pem)
# intruder        signed by other-ca, which nobody trusts; otherwise like a node
# wronghost       signed by ca, but for dns:elsewhere.invalid only (host name check fails)
# expired         signed by ca, valid for one day in 2001
# Every store's password is "test-only".
set -euo pipefail
cd "$(dirname "$0")/.."
PW=test-only
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kt() { keytool -storetype PKCS12 -storepass "$PW" -keypass "$PW" "$@" >/dev/null 2>&1 || keytool -storetype PKCS12 -storepass "$PW" -keypass "$PW" "$@"; }

ca() { # name
  kt -genkeypair -alias "$1" -keyalg EC -groupname secp256r1 -dname "CN=raftkit $1 (TEST ONLY)" \
    -ext bc:c -validity 36500 -keystore "$work/$1.p12"
  kt -exportcert -rfc -alias "$1" -keystore "$work/$1.p12" -file "$work/$1.pem"
}

leaf() { # name ca san [gencert options...]
  local name=$1 issuer=$2 san=$3
  shift 3
  kt -genkeypair -alias node -keyalg EC -groupname secp256r1 -dname "CN=$name (TEST ONLY)" -validity 36500 \
    -keystore "$work/$name.p12"
  kt -certreq -alias node -keystore "$work/$name.p12" -file "$work/$name.csr"
  kt -gencert -alias "$issuer" -keystore "$work/$issuer.p12" -infile "$work/$name.csr" -outfile "$work/$name.crt" \
    -rfc -ext "SAN=$san" -ext KU=digitalSignature -ext EKU=serverAuth,clientAuth "$@"
  kt -importcert -noprompt -alias "$issuer" -keystore "$work/$name.p12" -file "$work/$issuer.pem"
  kt -importcert -alias node -keystore "$work/$name.p12" -file "$work/$name.crt"
  # The issuer stays only in the chain: a key store that also trusted it would be a trust store.
  kt -delete -alias "$issuer" -keystore "$work/$name.p12"
}

ca ca
ca other-ca
for n in node1 node2 node3; do leaf "$n" ca ip:127.0.0.1,dns:localhost -validity 36500; done
leaf intruder other-ca ip:127.0.0.1,dns:localhost -validity 36500
leaf wronghost ca dns:elsewhere.invalid -validity 36500
leaf expired ca ip:127.0.0.1,dns:localhost -startdate 2001/01/01 -validity 1
kt -importcert -noprompt -alias ca -keystore "$work/trust.p12" -file "$work/ca.pem"
cat "$work/node1.crt" "$work/ca.pem" > "$work/node1.crt.pem"
openssl pkcs12 -in "$work/node1.p12" -passin "pass:$PW" -nocerts -nodes 2>/dev/null | openssl pkey -out "$work/node1.key.pem"

for dest in transport-netty/src/test/resources/tls examples/kv/src/test/resources/tls; do
  mkdir -p "$dest"
  for f in ca.pem trust.p12 node1.p12 node2.p12 node3.p12 node1.crt.pem node1.key.pem intruder.p12 wronghost.p12 \
      expired.p12; do
    cp "$work/$f" "$dest/$f"
  done
  echo "wrote $dest"
done
