// Command gobig is a benchmark input, not a tool: a Go binary of more than
// 10 MB with DWARF, made large by linking much of the standard library, that
// declares the corpus FlowKey struct. `just bench-dwarf` builds it and looks
// FlowKey up with bpfcase and with llvm-dwarfdump.
package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"compress/lzw"
	"compress/zlib"
	"container/list"
	"crypto/aes"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"debug/dwarf"
	"debug/elf"
	"debug/gosym"
	"debug/macho"
	"debug/pe"
	"encoding/ascii85"
	"encoding/asn1"
	"encoding/base64"
	"encoding/csv"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"expvar"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/format"
	"go/importer"
	"go/parser"
	"go/printer"
	"go/token"
	"go/types"
	"html/template"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"index/suffixarray"
	"log/syslog"
	"math/big"
	"math/cmplx"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/http/pprof"
	"net/mail"
	"net/rpc"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	rpprof "runtime/pprof"
	"sort"
	"strings"
	"text/tabwriter"
	texttemplate "text/template"
	"time"
	"unsafe"
)

// FlowKey mirrors struct flow_key (corpora/bpf/flows.bpf.c).
type FlowKey struct {
	Saddr uint32
	Sport uint16
	_     [2]byte
	Daddr uint32
	Proto uint8
	_     [3]byte
}

// keep makes the linker keep every imported package's code and types.
var keep = []interface{}{
	tar.NewReader, zip.NewReader, bufio.NewReader, gzip.NewReader, aes.NewCipher,
	ecdsa.Sign, ed25519.Sign, elliptic.P256, hmac.New, rsa.SignPKCS1v15, sha256.New,
	sha512.New, tls.Dial, x509.ParseCertificate, sql.Open, dwarf.New, elf.Open,
	asn1.Marshal, base64.NewEncoder, csv.NewReader, gob.NewEncoder, hex.EncodeToString,
	json.Marshal, pem.Decode, xml.Marshal, flag.Parse, ast.Print, format.Source,
	parser.ParseFile, printer.Fprint, token.NewFileSet, types.NewPackage,
	template.New, gif.Decode, jpeg.Decode, png.Decode, big.NewInt, multipart.NewReader,
	net.Dial, http.ListenAndServe, httptest.NewServer, mail.ReadMessage, rpc.Dial,
	smtp.Dial, url.Parse, exec.Command, regexp.MustCompile, rpprof.StartCPUProfile,
	sort.Strings, strings.NewReader, texttemplate.New, time.Now,
	bzip2.NewReader, lzw.NewReader, zlib.NewReader, list.New, dsa.Sign, gosym.NewTable,
	macho.Open, pe.Open, ascii85.NewEncoder, expvar.NewInt, build.Import, doc.New,
	importer.Default, draw.Draw, suffixarray.New, syslog.New, cmplx.Abs, cookiejar.New,
	httputil.NewSingleHostReverseProxy, pprof.Index, textproto.NewReader, tabwriter.NewWriter,
}

func main() {
	var k FlowKey
	fmt.Fprintln(os.Stdout, len(keep), k, unsafe.Sizeof(k), unsafe.Offsetof(k.Proto))
}
