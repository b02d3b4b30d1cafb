package io.gatewaycsi.proto;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import io.gatewaycsi.csi.v1.CsiProto;
import io.gatewaycsi.proto.DescriptorDifferences.Rename;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Our csi.proto is the CSI v1.12.0 wire contract (DESIGN §6): compared field by field with the
 * upstream csi.proto, fetched at test time, it differs only in the renames listed here.
 */
class CsiContractTest {

  /**
   * Upstream's {@code mutable_parameters} clashes with the {@code parameters} map's accessors in
   * generated Java wherever a message has both; our file renames it there (see csi.proto's header).
   */
  static final List<Rename> RENAMES = List.of(
      new Rename("csi.v1.CreateVolumeRequest", "mutable_parameters", "modifiable_parameters"),
      new Rename("csi.v1.ValidateVolumeCapabilitiesRequest", "mutable_parameters", "modifiable_parameters"),
      new Rename("csi.v1.ValidateVolumeCapabilitiesResponse.Confirmed", "mutable_parameters", "modifiable_parameters"));

  static final String GO_MODULE = "github.com/container-storage-interface/spec@v1.12.0";

  private static final FileDescriptor OURS = CsiProto.getDescriptor();

  @Test
  void ourCsiProtoMatchesUpstreamExceptForTheListedRenames() throws Exception {
    FileDescriptor upstream = UpstreamProto.fetchAndCompile(GO_MODULE, "csi.proto");

    List<String> differences = DescriptorDifferences.between(upstream, OURS, RENAMES);

    assertThat(differences)
        .withFailMessage(() -> "our csi.proto differs from upstream %s; %d difference(s):%n  %s".formatted(
            GO_MODULE, differences.size(), String.join("\n  ", differences)))
        .isEmpty();
  }

  @Test
  void aChangedFieldNumberIsReported() throws Exception {
    int number = OURS.findMessageTypeByName("CreateVolumeRequest").findFieldByName("name").getNumber();
    FileDescriptor changed = withField(OURS, "CreateVolumeRequest", "name", field -> field.setNumber(999));

    assertThat(DescriptorDifferences.between(OURS, changed, List.of()))
        .containsExactly("csi.v1.CreateVolumeRequest.name: number is " + number + " upstream, 999 in ours");
  }

  @Test
  void aRenamedFieldIsReportedUnlessListedWithTheUpstreamJsonName() throws Exception {
    var rename = new Rename("csi.v1.CreateVolumeRequest", "name", "title");
    FileDescriptor renamed = withField(OURS, "CreateVolumeRequest", "name",
        field -> field.setName("title").setJsonName("name"));
    FileDescriptor renamedWithNewJsonName = withField(OURS, "CreateVolumeRequest", "name",
        field -> field.setName("title").setJsonName("title"));

    assertThat(DescriptorDifferences.between(OURS, renamed, List.of())).containsExactly(
        "csi.v1.CreateVolumeRequest.name: field missing from ours",
        "csi.v1.CreateVolumeRequest.title: field not in upstream");
    assertThat(DescriptorDifferences.between(OURS, renamed, List.of(rename))).isEmpty();
    assertThat(DescriptorDifferences.between(OURS, renamedWithNewJsonName, List.of(rename)))
        .containsExactly("csi.v1.CreateVolumeRequest.name: json name is name upstream, title in ours");
  }

  @Test
  void aRenameOfAFieldUpstreamLacksIsReported() {
    var stale = new Rename("csi.v1.CreateVolumeRequest", "no_such_field", "whatever");

    assertThat(DescriptorDifferences.between(OURS, OURS, List.of(stale)))
        .containsExactly("csi.v1.CreateVolumeRequest.no_such_field: listed as renamed, but upstream has no such field");
  }

  /** A copy of {@code file} with one field of one top-level message changed. */
  private static FileDescriptor withField(FileDescriptor file, String message, String field,
      UnaryOperator<FieldDescriptorProto.Builder> change) throws DescriptorValidationException {
    FileDescriptorProto.Builder proto = file.toProto().toBuilder();
    DescriptorProto.Builder messageProto = proto.getMessageTypeBuilderList().stream()
        .filter(candidate -> candidate.getName().equals(message))
        .findFirst().orElseThrow();
    FieldDescriptorProto.Builder fieldProto = messageProto.getFieldBuilderList().stream()
        .filter(candidate -> candidate.getName().equals(field))
        .findFirst().orElseThrow();
    change.apply(fieldProto);
    return FileDescriptor.buildFrom(proto.build(), file.getDependencies().toArray(FileDescriptor[]::new));
  }
}
