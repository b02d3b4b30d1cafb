package io.gatewaycsi.proto;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.FileDescriptor;
import io.gatewaycsi.pluginregistration.v1.PluginRegistrationProto;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Our pluginregistration/v1/registration.proto is kubelet's plugin registration API v1 on the wire:
 * compared field by field with kubelet's own api.proto (k8s.io/kubelet at the test cluster's Kubernetes
 * version, fetched at test time), it has no difference at all.
 */
class PluginRegistrationContractTest {

  static final String GO_MODULE = "k8s.io/kubelet@v0.34.4";

  @Test
  void ourRegistrationProtoMatchesKubeletsApiProto() throws Exception {
    FileDescriptor upstream = UpstreamProto.fetchAndCompile(GO_MODULE, "pkg/apis/pluginregistration/v1/api.proto");

    List<String> differences = DescriptorDifferences.between(upstream, PluginRegistrationProto.getDescriptor(), List.of());

    assertThat(differences)
        .withFailMessage(() -> "our registration.proto differs from %s's api.proto; %d difference(s):%n  %s".formatted(
            GO_MODULE, differences.size(), String.join("\n  ", differences)))
        .isEmpty();
  }
}
