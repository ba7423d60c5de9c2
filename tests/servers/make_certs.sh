#!/usr/bin/env bash
# Make a throwaway test CA, a server certificate for 127.0.0.2 and a client
# certificate in DIR (for tests/test_dispatcher.c's TLS and mutual-TLS cases).
set -euo pipefail
dir=$1
cd "$dir"
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj "/CN=hookline test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
for who in server client; do
    q openssl req -newkey rsa:2048 -nodes -keyout "$who.key" -out "$who.csr" -subj "/CN=hookline test $who"
done
printf 'subjectAltName=IP:127.0.0.2\nextendedKeyUsage=serverAuth\n' >server.ext
printf 'extendedKeyUsage=clientAuth\n' >client.ext
for who in server client; do
    q openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$who.pem" \
        -days 2 -extfile "$who.ext"
done
# a second CA the client does not trust
q openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 \
    -subj "/CN=hookline other CA"
