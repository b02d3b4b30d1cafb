// Package suite is the test binary of Kubernetes' External Storage e2e suite for gateway-csi: the upstream
// framework and test/e2e/storage/external, nothing else. test/e2e/build compiles it with `go test -c` in a
// scratch module pinned to the cluster's Kubernetes version; test/e2e/run runs it with
// -storage.testdriver=<testdriver YAML> and a JUnit report.
package suite

import (
	"flag"
	"os"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"k8s.io/kubernetes/test/e2e/framework"
	"k8s.io/kubernetes/test/e2e/framework/config"
	"k8s.io/kubernetes/test/e2e/framework/testfiles"

	// Registers -storage.testdriver and the specs for each driver named with it.
	_ "k8s.io/kubernetes/test/e2e/storage/external"

	// Framework behaviour of the upstream e2e binary: dumps on failure, node checks.
	_ "k8s.io/kubernetes/test/e2e/framework/debug/init"
	_ "k8s.io/kubernetes/test/e2e/framework/node/init"
)

func TestMain(m *testing.M) {
	config.CopyFlags(config.Flags, flag.CommandLine)
	framework.RegisterCommonFlags(flag.CommandLine)
	framework.RegisterClusterFlags(flag.CommandLine)
	flag.Parse()
	// The testdriver YAML and its StorageClass are named by absolute paths: resolve them from "/".
	testfiles.AddFileSource(testfiles.RootFileSource{Root: "/"})
	framework.AfterReadingAllFlags(&framework.TestContext)
	os.Exit(m.Run())
}

func TestExternalStorage(t *testing.T) {
	gomega.RegisterFailHandler(framework.Fail)
	// The framework's configuration: -report-dir gives junit_01.xml.
	suiteConfig, reporterConfig := framework.CreateGinkgoConfig()
	ginkgo.RunSpecs(t, "gateway-csi: Kubernetes External Storage e2e suite", suiteConfig, reporterConfig)
}
