package kubeenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the throw-away trust of one local control plane: a CA, the API server's
// serving certificate, an admin client certificate (group system:masters) and the
// service-account signing key. Everything lives in the env's temp dir.
type pki struct {
	CACert, CAKey         string
	ServingCert, Serving  string
	AdminCert, AdminKey   string
	SAKey, SAPub          string
	caPEM, adminCertPEM   []byte
	adminKeyPEM           []byte
	caCert                *x509.Certificate
	caSigner              *ecdsa.PrivateKey
	validFor              time.Duration
	servingIPs            []net.IP
	servingDNS            []string
	adminUser, adminGroup string
}

func newPKI(dir string) (*pki, error) {
	p := &pki{
		CACert: filepath.Join(dir, "ca.crt"), CAKey: filepath.Join(dir, "ca.key"),
		ServingCert: filepath.Join(dir, "apiserver.crt"), Serving: filepath.Join(dir, "apiserver.key"),
		AdminCert: filepath.Join(dir, "admin.crt"), AdminKey: filepath.Join(dir, "admin.key"),
		SAKey: filepath.Join(dir, "sa.key"), SAPub: filepath.Join(dir, "sa.pub"),
		validFor:   24 * time.Hour,
		servingIPs: []net.IP{net.IPv4(127, 0, 0, 1), net.ParseIP("10.96.0.1")},
		servingDNS: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		adminUser:  "kubeenv-admin", adminGroup: "system:masters",
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki dir: %w", err)
	}
	if err := p.makeCA(); err != nil {
		return nil, err
	}
	if err := p.issue(p.ServingCert, p.Serving, pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth, nil); err != nil {
		return nil, fmt.Errorf("API server certificate: %w", err)
	}
	admin := pkix.Name{CommonName: p.adminUser, Organization: []string{p.adminGroup}}
	if err := p.issue(p.AdminCert, p.AdminKey, admin, x509.ExtKeyUsageClientAuth, &p.adminCertPEM); err != nil {
		return nil, fmt.Errorf("admin client certificate: %w", err)
	}
	var err error
	if p.adminKeyPEM, err = os.ReadFile(p.AdminKey); err != nil {
		return nil, fmt.Errorf("admin client key: %w", err)
	}
	if err := p.serviceAccountKey(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pki) makeCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kubeenv-ca"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(p.validFor),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("CA certificate: %w", err)
	}
	if p.caCert, err = x509.ParseCertificate(der); err != nil {
		return fmt.Errorf("CA certificate: %w", err)
	}
	p.caSigner = key
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(p.CACert, p.caPEM, 0o600); err != nil {
		return fmt.Errorf("write CA: %w", err)
	}
	return writeKey(p.CAKey, key)
}

func (p *pki) issue(certPath, keyPath string, subject pkix.Name, usage x509.ExtKeyUsage, certPEM *[]byte) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(p.validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = p.servingIPs
		tmpl.DNSNames = p.servingDNS
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caSigner)
	if err != nil {
		return err
	}
	encoded := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if certPEM != nil {
		*certPEM = encoded
	}
	if err := os.WriteFile(certPath, encoded, 0o600); err != nil {
		return err
	}
	return writeKey(keyPath, key)
}

func (p *pki) serviceAccountKey() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	if err := writeKey(p.SAKey, key); err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("service-account public key: %w", err)
	}
	return os.WriteFile(p.SAPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}
