// Package services starts the external servers that the scale-out storage
// needs, for integration tests and benchmarks: MariaDB (Debian's
// mariadb-server) and MinIO (an S3 server), each on a loopback port in a
// directory of its own, stopped by the caller.
package services

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/go-sql-driver/mysql"
)

// A Service is a running server.
type Service struct {
	cmd  *exec.Cmd
	log  *bytes.Buffer
	Addr string
}

// Stop terminates the server and waits for it.
func (s *Service) Stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// Log returns what the server printed.
func (s *Service) Log() string { return s.log.String() }

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func find(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		for _, dir := range []string{"/usr/sbin", "/usr/bin", filepath.Join(os.Getenv("HOME"), "go", "bin")} {
			if p := filepath.Join(dir, n); fileExists(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s not found: install it (.ci/run shows how)", names[0])
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// MariaDB is a running MariaDB server with an empty "treelog" database.
type MariaDB struct {
	*Service
	// DSN connects to the treelog database as root.
	DSN string
}

// StartMariaDB initializes a data directory in dir and starts mariadbd on a
// free loopback port, with max_allowed_packet raised to 64M (tessera writes
// whole batches of entries in one statement).
func StartMariaDB(dir string) (*MariaDB, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	bin, err := find("mariadbd", "mysqld")
	if err != nil {
		return nil, err
	}
	install, err := find("mariadb-install-db", "mysql_install_db")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	var out bytes.Buffer
	cmd := exec.Command(install, "--user="+currentUser(), "--datadir="+data, "--auth-root-authentication-method=normal", "--skip-test-db")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %v\n%s", err, out.String())
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &Service{log: &bytes.Buffer{}, Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	s.cmd = exec.Command(bin, "--no-defaults", "--user="+currentUser(), "--datadir="+data, "--socket="+filepath.Join(dir, "sock"),
		fmt.Sprintf("--port=%d", port), "--bind-address=127.0.0.1", "--max-allowed-packet=64M", "--skip-name-resolve",
		"--pid-file="+filepath.Join(dir, "pid"), "--innodb-buffer-pool-size=256M", "--max-connections=500")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	m := &MariaDB{Service: s, DSN: fmt.Sprintf("root@tcp(%s)/treelog?parseTime=true", s.Addr)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(%s)/", s.Addr))
		if err == nil {
			_, err = db.Exec("CREATE DATABASE IF NOT EXISTS treelog")
			db.Close()
		}
		if err == nil {
			return m, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("MariaDB did not start: %v\n%s", err, s.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}

// MinIO is a running MinIO server.
type MinIO struct {
	*Service
	Endpoint             string
	AccessKey, SecretKey string
}

// StartMinIO starts MinIO serving dir on a free loopback port.
func StartMinIO(dir string) (*MinIO, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	bin, err := find("minio")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cport, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &Service{log: &bytes.Buffer{}, Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	m := &MinIO{Service: s, Endpoint: "http://" + s.Addr, AccessKey: "treelogadmin", SecretKey: "treelog-secret-key"}
	s.cmd = exec.Command(bin, "server", filepath.Join(dir, "data"), "--address", s.Addr, "--console-address", fmt.Sprintf("127.0.0.1:%d", cport), "--quiet")
	s.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.AccessKey, "MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "HOME="+dir)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(m.Endpoint + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("MinIO did not start: %v\n%s", err, s.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// CreateBucket creates a bucket.
func (m *MinIO) CreateBucket(ctx context.Context, name string) error {
	c := s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
		BaseEndpoint: aws.String(m.Endpoint),
		UsePathStyle: true,
	})
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	var exists interface{ ErrorCode() string }
	if errors.As(err, &exists) && (exists.ErrorCode() == "BucketAlreadyOwnedByYou" || exists.ErrorCode() == "BucketAlreadyExists") {
		return nil
	}
	return err
}
