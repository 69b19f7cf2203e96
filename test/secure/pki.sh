# Sourced by test/suites/secure.sh: a throw-away PKI made with openssl.
#
#   vs_pki DIR    makes, in DIR:
#     ca.pem ca.key            the test CA (CN=voltpay-test-ca)
#     rogue-ca.pem             another CA, trusted by nobody
#     broker.{pem,key,p12}     Kafka's certificate, CN=broker, SAN 127.0.0.1
#                              and localhost; broker.p12 (PKCS#12, password
#                              in broker.p12.pass) for the JVM
#     pg-server.{pem,key}      PostgreSQL's, CN=localhost, SAN localhost only
#                              (so that host 127.0.0.1 is a wrong host name)
#     NAME.{pem,key}           client certificates, CN=NAME, for
#                              admin tools monitor bridge-tls bridge_cert
#                              voltpay_exporter
#     rogue/bridge-tls.{pem,key}  CN=bridge-tls, signed by the rogue CA
#   Keys are 0600, EC P-256, valid two days.

# vs__leaf DIR NAME CN SAN: a key and a certificate signed by the CA.
vs__leaf() {
	local dir=$1 name=$2 cn=$3 san=$4
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$cn" 2>/dev/null || return 1
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$san" >"$dir/$name.ext"
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
		-days 2 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null || return 1
	chmod 600 "$dir/$name.key"
	rm -f "$dir/$name.csr" "$dir/$name.ext"
}

vs_pki() {
	local dir=$1 n
	mkdir -p "$dir"
	for n in ca rogue-ca; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$dir/$n.key" -out "$dir/$n.pem" -days 2 -sha256 \
			-subj "/CN=voltpay-test-$n" -addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || return 1
		chmod 600 "$dir/$n.key"
	done
	vs__leaf "$dir" broker broker "IP:127.0.0.1,DNS:localhost" || return 1
	vs__leaf "$dir" pg-server localhost "DNS:localhost" || return 1
	for n in admin tools monitor bridge-tls bridge_cert voltpay_exporter; do
		vs__leaf "$dir" "$n" "$n" "DNS:$n" || return 1
	done
	# A client certificate from the rogue CA, with a trusted CN.
	mkdir -p "$dir/rogue"
	cp "$dir/rogue-ca.pem" "$dir/rogue/ca.pem"
	cp "$dir/rogue-ca.key" "$dir/rogue/ca.key"
	vs__leaf "$dir/rogue" bridge-tls bridge-tls "DNS:bridge-tls" || return 1
	openssl rand -hex 12 >"$dir/broker.p12.pass"
	openssl pkcs12 -export -in "$dir/broker.pem" -inkey "$dir/broker.key" -certfile "$dir/ca.pem" \
		-name broker -out "$dir/broker.p12" -passout "file:$dir/broker.p12.pass" || return 1
	chmod 600 "$dir/broker.p12" "$dir/broker.p12.pass"
}
