package signd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"treelog/signer"
)

// TestMain lets the test binary act as a client run as another user:
// with SIGND_TEST_CLIENT=<socket> it sends stdin as a request and prints
// the answer or the error.
func TestMain(m *testing.M) {
	if sock := os.Getenv("SIGND_TEST_CLIENT"); sock != "" {
		req, _ := io.ReadAll(os.Stdin)
		body, err := signer.Call(context.Background(), sock, req)
		if err != nil {
			fmt.Println("error:", err)
		} else {
			fmt.Printf("ok\n%s", body)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const nobody = 65534

// A real process of another user: refused by the socket file's mode, and,
// where the mode lets it connect, by its kernel credentials; let in only
// when its uid is allowed. Running a process as another user takes root
// (which CI is); elsewhere TestPeerCredentialsRefused covers the check.
func TestOtherUserRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running a client as another uid needs root; TestPeerCredentialsRefused checks the same refusal in-process")
	}
	f := newFixture(t, "")
	if err := os.Chmod(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(f.dir, "client")
	exe, _ := os.Executable()
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bin, data, 0o755)
	f.admin1(t, CmdUnlock, testPass)
	req := signer.MarshalRequest(request(t, f.tree))
	asNobody := func() string {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), "SIGND_TEST_CLIENT="+f.sock)
		cmd.Stdin = bytes.NewReader(req)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("client as uid %d: %v\n%s", nobody, err, out)
		}
		return string(out)
	}
	// The socket is 0660 root:root: the kernel refuses the connection.
	if out := asNobody(); !strings.Contains(out, "permission denied") {
		t.Errorf("uid %d on a 0660 root socket: %s", nobody, out)
	}
	// Mode 0666 lets it connect; its credentials are not allowed.
	os.Chmod(f.sock, 0o666)
	if out := asNobody(); !strings.Contains(out, "(denied)") || !strings.Contains(out, fmt.Sprintf("uid %d", nobody)) {
		t.Errorf("uid %d not in the access list: %s", nobody, out)
	}
	if f.j.Len() != 0 {
		t.Fatal("a refused caller got a signature recorded")
	}
	// Allowed by uid: it gets its signature (so the refusals above were
	// the checks', not the client's failure).
	f.stop()
	f.start(t, Access{UIDs: map[uint32]bool{nobody: true}})
	os.Chmod(f.sock, 0o666)
	f.admin1(t, CmdUnlock, testPass)
	if out := asNobody(); !strings.HasPrefix(out, "ok\n") {
		t.Errorf("uid %d allowed: %s", nobody, out)
	}
	recs, _, _ := ReadJournal(filepath.Join(f.dir, "journal"))
	if len(recs) != 1 || recs[0].UID != nobody {
		t.Errorf("journal: %+v", recs)
	}
}
