// Package devca is the dev stack's certificate authority: it creates (or
// loads) a CA and issues TLS server certificates for the emulators, so that
// clients which insist on https (MSAL Go, databricks-sdk-go) can talk to
// them with an http.Client that trusts only this CA.
package devca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// CA is a certificate authority held in memory.
type CA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// Config says where the CA lives. An empty Dir keeps it in memory only.
type Config struct {
	// Dir holds ca.pem and ca-key.pem; they are created when missing and
	// reused otherwise, so browsers and tools can trust one CA across runs.
	Dir string
}

// CertFile is the name of the CA certificate PEM inside Config.Dir.
const CertFile = "ca.pem"

const keyFile = "ca-key.pem"

// New loads the CA from cfg.Dir or creates it.
func New(cfg Config) (*CA, error) {
	if cfg.Dir != "" {
		ca, err := load(cfg.Dir)
		if err == nil {
			return ca, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	ca, err := generate()
	if err != nil {
		return nil, err
	}
	if cfg.Dir != "" {
		if err := ca.save(cfg.Dir); err != nil {
			return nil, err
		}
	}
	return ca, nil
}

func generate() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devca: generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "behalf dev stack CA", Organization: []string{"behalf dev"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(2, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("devca: self-sign: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("devca: parse: %w", err)
	}
	return &CA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

func load(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, keyFile))
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("devca: %s: not PEM", dir)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devca: parse %s: %w", CertFile, err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devca: parse %s: %w", keyFile, err)
	}
	if time.Now().After(cert.NotAfter.Add(-24 * time.Hour)) {
		return nil, fmt.Errorf("devca: %s expired: %w", CertFile, os.ErrNotExist)
	}
	return &CA{cert: cert, key: key, certPEM: certPEM}, nil
}

func (ca *CA) save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(ca.key)
	if err != nil {
		return fmt.Errorf("devca: marshal key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, keyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, CertFile), ca.certPEM, 0o644); err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	return nil
}

// CertPEM is the CA certificate in PEM form, for clients to trust.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// WriteCertPEM writes the CA certificate to path (creating its folder).
func (ca *CA) WriteCertPEM(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	return os.WriteFile(path, ca.certPEM, 0o644)
}

// Pool returns a cert pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// HTTPClient returns an http.Client that trusts only this CA.
func (ca *CA) HTTPClient() *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: true,
		},
	}
}

// ServerTLS issues a server certificate for the given host names / IPs
// (localhost and 127.0.0.1 are always included) and returns a TLS config.
func (ca *CA) ServerTLS(hosts ...string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devca: generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "behalf dev stack"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(0, 3, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("devca: issue server cert: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}},
	}, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
