//! The second Keras tutorial's image model: `Conv2D(32, (3, 3), activation='relu',
//! input_shape=(28, 28, 1)) → MaxPooling2D((2, 2)) → Flatten → Dense(10, activation='softmax')`,
//! its summary (as Keras prints it: (26, 26, 32) → (13, 13, 32) → 5408; Conv2D 320, Flatten 0,
//! Dense 54,090, total 54,410) and a prediction of shape (1, 10) for a random 28×28×1 image.

use rand::{Rng, SeedableRng};
use seqnet::prelude::*;

sequential! {
    /// The tutorial's convolutional classifier.
    pub struct ConvNet {
        Conv2D(32, (3, 3), activation = relu, input_shape = (28, 28, 1)),
        MaxPooling2D((2, 2)),
        Flatten,
        Dense(10, activation = softmax),
    }
}

fn main() -> Result<()> {
    let model = ConvNet::new(42);
    model.summary();

    // One random image, as a decoded image is held: rows of pixels of channels.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut image = [[[0.0f32; 1]; 28]; 28];
    for pixel in image.iter_mut().flatten().flatten() {
        *pixel = rng.random_range(0.0..1.0);
    }
    let prediction = model.predict(&[image])?;
    println!(
        "prediction shape: ({}, {})",
        prediction.len(),
        prediction[0].len()
    );
    println!("{:?}", prediction[0]);
    let sum: f32 = prediction[0].iter().sum();
    println!("sum of the softmax outputs: {sum:.6}");
    Ok(())
}
