package io.gatewaycsi.common.testing;

import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * A jqwik hook that sets a property's tries from the suite's size ({@link Reliability}): the tries the
 * property declares ({@code @Property(tries = N)}, default 1000) in the quick form, ten times as many in the
 * full form. Use with {@code @AddLifecycleHook(ReliabilityTries.class)} on the class or the property.
 */
public final class ReliabilityTries implements AroundPropertyHook {

    /** How many times the declared tries the full form runs. */
    public static final int FULL_FACTOR = 10;

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property)
            throws Throwable {
        if (Reliability.full()) {
            int declared = context.attributes().tries().orElse(1000);
            if (declared > 1) { // an @Example runs once in either form
                context.attributes().setTries(declared * FULL_FACTOR);
            }
        }
        return property.execute();
    }

    /** Registered on a class, applies to every property in it (a hook's default is the element itself only). */
    @Override
    public net.jqwik.api.lifecycle.PropagationMode propagateTo() {
        return net.jqwik.api.lifecycle.PropagationMode.ALL_DESCENDANTS;
    }

    /** Outermost, so that the tries are set before the property starts generating. */
    @Override
    public int aroundPropertyProximity() {
        return -100;
    }
}
