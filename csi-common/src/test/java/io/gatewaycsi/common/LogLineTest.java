package io.gatewaycsi.common;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LogLineTest {

    @Test
    void plainValuesStayBare() {
        assertThat(LogLine.event("rpc").with("method", "Probe").with("code", "OK").toString())
                .isEqualTo("event=rpc method=Probe code=OK");
    }

    @Test
    void valuesThatWouldBreakTheLineAreQuotedAndEscaped() {
        assertThat(LogLine.event("x").with("error", "a \"b\"=c\nd").toString())
                .isEqualTo("event=x error=\"a \\\"b\\\"=c\\nd\"");
        assertThat(LogLine.event("x").with("empty", "").toString()).isEqualTo("event=x empty=\"\"");
    }

    @Test
    void nullValuesAreLeftOut() {
        assertThat(LogLine.event("x").with("volume_id", null).toString()).isEqualTo("event=x");
    }
}
